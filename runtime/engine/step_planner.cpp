#include "runtime/engine/step_planner.h"

#include <algorithm>
#include <set>

namespace gs::runtime {

std::vector<StepItem> plan_step(const std::vector<SeqState>& states, const StepPlanOptions& opt, int turn) {
  std::vector<StepItem> items;
  if (states.empty()) return items;
  std::set<int> groups;
  for (const auto& s : states) groups.insert(s.group);
  auto it = groups.begin();
  std::advance(it, static_cast<size_t>(turn) % groups.size());
  const int group = *it;
  int budget = std::max(1, opt.token_budget);
  for (size_t i = 0; i < states.size(); ++i)
    if (states[i].group == group && states[i].prompt_left == 0) {
      items.push_back({static_cast<int>(i), 1});
      --budget;
    }
  if (!items.empty()) budget = std::min(budget, std::max(1, opt.busy_token_budget) - static_cast<int>(items.size()));
  // Prefill gets whatever the decoders leave, but always at least a small chunk so prompts move.
  budget = std::max(budget, std::min(16, opt.token_budget));
  for (size_t i = 0; i < states.size() && budget > 0; ++i)
    if (states[i].group == group && states[i].prompt_left > 0) {
      const int n = std::min(states[i].prompt_left, budget);
      items.push_back({static_cast<int>(i), n});
      budget -= n;
    }
  return items;
}

}  // namespace gs::runtime
