// Token sampling for one sequence: penalties, temperature, top-k / top-p / min-p filters, a seeded
// RNG, and log-softmax logprobs. Scalar and allocation-light; the engine calls it once per token.
// Knows nothing of requests or HTTP.
#pragma once
#include <cstdint>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include "runtime/engine/request.h"

namespace gs::runtime {

struct TokenLogprobs {
  int32_t token = -1;
  float logprob = 0.f;                              // of the chosen token
  std::vector<std::pair<int32_t, float>> top;       // best `top_logprobs` alternatives, descending
};

class Sampler {
 public:
  // vocab: number of logits per step. Without a seed the RNG is seeded from std::random_device.
  Sampler(const SamplingParams& params, int vocab);

  // logits: [vocab] raw model output for the next position.
  // history: tokens generated so far for this sequence (the penalties apply to these).
  // out (optional): filled with the logprob of the chosen token and the top alternatives when
  // params.logprobs / params.top_logprobs ask for them. Logprobs are of the model's own
  // distribution (log-softmax of the raw logits), before penalties and temperature, as OpenAI
  // reports them.
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history, TokenLogprobs* out);

  const SamplingParams& params() const { return params_; }

 private:
  void apply_penalties(std::span<const int32_t> history);
  int32_t pick_from_filtered();

  SamplingParams params_;
  int vocab_;
  std::mt19937_64 rng_;
  std::vector<float> work_;                         // [vocab] adjusted logits
  std::vector<std::pair<float, int32_t>> cand_;     // (prob, id) candidates
};

// Log-softmax of `logits` at `token`, and the `k` most likely tokens with their logprobs.
// Exposed for tests and for the engine's prompt-logprob paths.
TokenLogprobs compute_logprobs(std::span<const float> logits, int32_t token, int k);

}  // namespace gs::runtime
