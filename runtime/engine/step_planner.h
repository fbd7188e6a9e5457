// Scheduling policy of one engine iteration: which sequences run in the next step and how many
// prompt tokens each may prefill. Pure function of the sequences' states, so it is unit-tested
// without a model.
#pragma once
#include <vector>

namespace gs::runtime {

struct SeqState {
  int prompt_left = 0;   // prompt tokens not yet in the KV cache (0: decoding)
  int group = 0;         // MatFormer size group: one group per step
};

struct StepItem {
  int seq = 0;           // index into the states
  int tokens = 0;        // rows this sequence adds (1 for decode, a chunk for prefill)
};

struct StepPlanOptions {
  int token_budget = 256;       // rows per step (prefill chunk size) when nobody is decoding
  // Rows per step while streams are decoding: a step with a 512-token chunk takes ~15 s on two
  // cores (E2B q4), during which every running stream waits. 128-row chunks cap that wait near
  // 4 s and keep 90 % of the prefill rate (measured pp256: chunk 64 28.0, 128 33.8, 512 37.4 tok/s).
  int busy_token_budget = 128;
};

// Picks the group to run (rotating with `turn`), puts every decoding sequence of that group in the
// step, then fills the remaining row budget (the smaller busy budget when anyone decodes) with
// prompt chunks (oldest first), so long prompts are prefilled in chunks interleaved with the
// running streams' decode steps.
std::vector<StepItem> plan_step(const std::vector<SeqState>& states, const StepPlanOptions& opt, int turn);

}  // namespace gs::runtime
