// Request fields shared by /v1/chat/completions and /v1/completions, already validated.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtime/engine/request.h"

namespace gs::api {

struct GenerationOptions {
  std::string model;                        // as the client sent it ("" = default)
  bool stream = false;
  bool include_usage = false;               // stream_options.include_usage
  std::optional<int> max_tokens;            // max_tokens / max_completion_tokens
  int n = 1;
  std::vector<std::string> stop;            // at most 4 non-empty strings
  runtime::SamplingParams sampling;         // temperature, top_p, penalties, seed, logprobs, ...
  std::string user;
  runtime::LatencyBudget budget;            // extension: latency_budget {ttft_ms, total_ms}
};

}  // namespace gs::api
