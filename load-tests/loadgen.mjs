#!/usr/bin/env node
// Bounded load generator for gemma3n-server (loopback only). Drives N concurrent streaming chat
// completions with mixed prompt and output lengths for a fixed number of requests (and at most
// --duration seconds), then reports TTFT, time per output token, end-to-end latency
// (p50/p95/p99), aggregate output tokens/s, errors and 429s, as JSON and a short table.
//   node load-tests/loadgen.mjs --url http://127.0.0.1:8080 --concurrency 4 --requests 32
//        [--model ID] [--budget-ttft-ms N] [--budget-total-ms N] [--max-tokens 64] [--out result.json]
//        [--prompt-words N] [--fixed-output]   (decode-bound runs: one prompt length, every request
//                                              asks exactly --max-tokens)
import { writeFileSync } from "node:fs";

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith("--")) acc.push([a.slice(2), all[i + 1] && !all[i + 1].startsWith("--") ? all[i + 1] : "true"]);
  return acc;
}, []));
const url = new URL(args.url ?? "http://127.0.0.1:8080");
if (!["127.0.0.1", "localhost", "[::1]", "::1"].includes(url.hostname) && !url.hostname.startsWith("127.")) {
  console.error("loadgen only targets loopback addresses");
  process.exit(2);
}
const concurrency = Number(args.concurrency ?? 4);
const total = Number(args.requests ?? 32);
const duration = Number(args.duration ?? 600) * 1000;
const maxTokens = Number(args["max-tokens"] ?? 64);
const model = args.model ?? "";
const promptWords = args["prompt-words"] ? Number(args["prompt-words"]) : null;
const fixedOutput = args["fixed-output"] === "true";

const words = "the quick brown fox jumps over a lazy dog while seven wise owls watch quietly from old oak trees".split(" ");
function prompt(i) {
  const n = promptWords ?? [8, 32, 128, 400][i % 4];  // mixed prompt lengths (words) by default
  return Array.from({ length: n }, (_, k) => words[(i * 7 + k) % words.length]).join(" ");
}

function pct(v, p) {
  if (!v.length) return null;
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))];
}

async function one(i) {
  const body = {
    model, stream: true, stream_options: { include_usage: true },
    max_tokens: fixedOutput ? maxTokens : [maxTokens, Math.max(1, maxTokens >> 2), maxTokens >> 1][i % 3] || 1,
    temperature: 0.7, seed: i,
    messages: [{ role: "user", content: prompt(i) }],
  };
  const headers = { "content-type": "application/json" };
  if (args["budget-ttft-ms"]) headers["x-latency-budget-ttft-ms"] = args["budget-ttft-ms"];
  if (args["budget-total-ms"]) headers["x-latency-budget-total-ms"] = args["budget-total-ms"];
  const t0 = performance.now();
  let ttft = null, tokens = 0, servedBy = null;
  const res = await fetch(new URL("/v1/chat/completions", url), { method: "POST", headers, body: JSON.stringify(body) });
  if (res.status === 429) return { status: 429 };
  if (!res.ok) return { status: res.status };
  servedBy = res.headers.get("x-gemma3n-size") ?? null;
  const dec = new TextDecoder();
  let buf = "";
  for await (const chunk of res.body) {
    buf += dec.decode(chunk, { stream: true });
    let k;
    while ((k = buf.indexOf("\n\n")) >= 0) {
      const ev = buf.slice(0, k);
      buf = buf.slice(k + 2);
      if (!ev.startsWith("data: ") || ev === "data: [DONE]") continue;
      const j = JSON.parse(ev.slice(6));
      if (j.error) return { status: 500 };
      if (j.choices?.[0]?.delta?.content && ttft === null) ttft = performance.now() - t0;
      if (j.usage) tokens = j.usage.completion_tokens;
      servedBy = j.model ?? servedBy;
    }
  }
  const e2e = performance.now() - t0;
  return { status: 200, ttft, e2e, tokens, tpot: tokens > 1 && ttft !== null ? (e2e - ttft) / (tokens - 1) : null, servedBy };
}

const started = performance.now();
let next = 0;
const results = [];
async function worker() {
  while (next < total && performance.now() - started < duration) {
    const i = next++;
    try { results.push(await one(i)); } catch (e) { results.push({ status: -1, error: String(e) }); }
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
const wall = (performance.now() - started) / 1000;
const ok = results.filter(r => r.status === 200);
const sizes = {};
for (const r of ok) sizes[r.servedBy ?? "?"] = (sizes[r.servedBy ?? "?"] ?? 0) + 1;
const summary = {
  url: url.origin, concurrency, requests: results.length, ok: ok.length,
  errors: results.filter(r => r.status !== 200 && r.status !== 429).length,
  rejected_429: results.filter(r => r.status === 429).length,
  wall_s: wall,
  output_tokens: ok.reduce((a, r) => a + r.tokens, 0),
  aggregate_output_tokens_per_s: ok.reduce((a, r) => a + r.tokens, 0) / wall,
  ttft_ms: { p50: pct(ok.map(r => r.ttft).filter(x => x !== null), 50), p95: pct(ok.map(r => r.ttft).filter(x => x !== null), 95), p99: pct(ok.map(r => r.ttft).filter(x => x !== null), 99) },
  tpot_ms: { p50: pct(ok.map(r => r.tpot).filter(x => x !== null), 50), p95: pct(ok.map(r => r.tpot).filter(x => x !== null), 95), p99: pct(ok.map(r => r.tpot).filter(x => x !== null), 99) },
  e2e_ms: { p50: pct(ok.map(r => r.e2e), 50), p95: pct(ok.map(r => r.e2e), 95), p99: pct(ok.map(r => r.e2e), 99) },
  served_by: sizes,
};
if (args.out) writeFileSync(args.out, JSON.stringify(summary, null, 2));
console.log(JSON.stringify(summary));
const f = x => (x === null || x === undefined ? "-" : x.toFixed(1));
console.log(`\n| conc | reqs | ok | 429 | err | tok/s | TTFT p50/p95/p99 ms | TPOT p50/p95 ms | E2E p50/p95/p99 ms |`);
console.log(`|---:|---:|---:|---:|---:|---:|---|---|---|`);
console.log(`| ${concurrency} | ${summary.requests} | ${summary.ok} | ${summary.rejected_429} | ${summary.errors} | ${f(summary.aggregate_output_tokens_per_s)} | ${f(summary.ttft_ms.p50)}/${f(summary.ttft_ms.p95)}/${f(summary.ttft_ms.p99)} | ${f(summary.tpot_ms.p50)}/${f(summary.tpot_ms.p95)} | ${f(summary.e2e_ms.p50)}/${f(summary.e2e_ms.p95)}/${f(summary.e2e_ms.p99)} |`);
