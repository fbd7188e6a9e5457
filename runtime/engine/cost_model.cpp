#include "runtime/engine/cost_model.h"

#include <algorithm>
#include <cmath>

namespace gs::runtime {

SizeCost CostModel::cost(const std::string& size) const {
  auto it = costs_.find(size);
  return it == costs_.end() ? SizeCost{} : it->second;
}

double CostModel::predict_step(const std::string& size, int decode_rows, int prompt_rows) const {
  const SizeCost c = cost(size);
  return c.weights_pass_s + static_cast<double>(decode_rows + prompt_rows) * c.per_row_s;
}

void CostModel::observe(const std::string& size, int decode_rows, int prompt_rows, double seconds, double alpha) {
  SizeCost& c = costs_[size];
  const int rows = decode_rows + prompt_rows;
  if (rows <= 0 || seconds <= 0) return;
  if (rows <= 16) {
    // Small steps measure the weight pass (memory-bound): attribute the rest to W.
    const double w = std::max(0.0, seconds - rows * c.per_row_s);
    c.weights_pass_s = c.weights_pass_s > 0 ? (1 - alpha) * c.weights_pass_s + alpha * w : w;
  } else {
    const double per_row = std::max(0.0, seconds - c.weights_pass_s) / rows;
    c.per_row_s = c.per_row_s > 0 ? (1 - alpha) * c.per_row_s + alpha * per_row : per_row;
  }
}

Prediction predict_request(const CostModel& cm, const std::string& size, const LoadSnapshot& load, int prompt_tokens,
                           int max_tokens) {
  // Prompt rows ahead of us and our own are prefilled in chunks alongside the running decoders.
  const int64_t rows = load.pending_prompt_tokens + prompt_tokens;
  const int64_t chunk = std::max(1, load.chunk);
  const int64_t steps = (rows + chunk - 1) / chunk;
  Prediction p;
  p.ttft_s = static_cast<double>(steps) * cm.predict_step(size, load.active_decoders, 0) +
             static_cast<double>(rows) * cm.cost(size).per_row_s;
  p.total_s = p.ttft_s + std::max(0, max_tokens - 1) * cm.predict_step(size, load.active_decoders + 1, 0);
  return p;
}

SizeChoice choose_size(const CostModel& cm, std::vector<SizeOption> sizes, const LatencyBudget& budget,
                       const LoadSnapshot& load, int prompt_tokens, int max_tokens, const std::string& default_id) {
  SizeChoice choice;
  if (sizes.empty()) return choice;
  if (!budget.ttft_s && !budget.total_s) {
    choice.id = default_id;
    const Prediction p = predict_request(cm, default_id, load, prompt_tokens, max_tokens);
    choice.predicted_ttft_s = p.ttft_s;
    choice.predicted_total_s = p.total_s;
    return choice;
  }
  std::sort(sizes.begin(), sizes.end(), [](const SizeOption& a, const SizeOption& b) { return a.params > b.params; });
  for (const auto& s : sizes) {
    const Prediction p = predict_request(cm, s.id, load, prompt_tokens, max_tokens);
    const bool ok = (!budget.ttft_s || p.ttft_s <= *budget.ttft_s) && (!budget.total_s || p.total_s <= *budget.total_s);
    if (ok) return {s.id, true, p.ttft_s, p.total_s};
  }
  const Prediction p = predict_request(cm, sizes.back().id, load, prompt_tokens, max_tokens);
  return {sizes.back().id, false, p.ttft_s, p.total_s};
}

}  // namespace gs::runtime
