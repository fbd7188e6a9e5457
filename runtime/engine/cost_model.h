// Per-size step cost model and the latency-budget size chooser (MatFormer sizes).
// A step of size s with B decode rows and P prompt rows costs about
//   W_s + (B + P) * c_s
// W_s: one pass over the weights (memory-bound, the same for 1 or 8 rows), c_s: compute per row.
// Priors come from a start-up calibration of the full model scaled by each size's parameters;
// every measured step then updates its size's estimates (exponential moving averages).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "runtime/engine/request.h"

namespace gs::runtime {

struct SizeCost {
  double weights_pass_s = 0;   // W
  double per_row_s = 0;        // c
};

class CostModel {
 public:
  void set_prior(const std::string& size, SizeCost c) { costs_[size] = c; }
  bool has(const std::string& size) const { return costs_.count(size) != 0; }
  SizeCost cost(const std::string& size) const;
  double predict_step(const std::string& size, int decode_rows, int prompt_rows) const;
  // A measured step; `alpha` is the weight of the new observation.
  void observe(const std::string& size, int decode_rows, int prompt_rows, double seconds, double alpha = 0.2);

 private:
  std::map<std::string, SizeCost> costs_;
};

struct SizeOption {
  std::string id;
  int64_t params = 0;          // bigger is better quality
};

struct LoadSnapshot {
  int active_decoders = 0;            // sequences decoding now
  int64_t pending_prompt_tokens = 0;  // prompt tokens queued ahead of a new request
  int chunk = 256;                    // prompt rows per step
};

struct SizeChoice {
  std::string id;
  bool meets_budget = true;
  double predicted_ttft_s = 0, predicted_total_s = 0;
};

struct Prediction {
  double ttft_s = 0, total_s = 0;
};
Prediction predict_request(const CostModel& cm, const std::string& size, const LoadSnapshot& load, int prompt_tokens,
                           int max_tokens);

// The largest size predicted to meet every target of the budget; if none does, the smallest
// (meets_budget = false). Without a budget: `default_id`.
SizeChoice choose_size(const CostModel& cm, std::vector<SizeOption> sizes, const LatencyBudget& budget,
                       const LoadSnapshot& load, int prompt_tokens, int max_tokens, const std::string& default_id);

}  // namespace gs::runtime
