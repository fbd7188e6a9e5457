// One request's life inside the engine: prompt, generated tokens, KV cache, sampler, timings.
// Owned and touched only by the engine thread.
#pragma once
#include <atomic>
#include <chrono>
#include <memory>
#include <vector>

#include "runtime/engine/request.h"
#include "runtime/kv/kv_cache.h"
#include "runtime/models/gemma3n/layer_plan.h"
#include "runtime/sampling/sampler.h"

namespace gs::runtime {

using Clock = std::chrono::steady_clock;

struct Sequence {
  uint64_t id = 0;
  GenerationRequest req;
  std::shared_ptr<std::atomic<bool>> cancelled;
  const gemma3n::LayerPlan* plan = nullptr;   // the MatFormer size serving it
  int64_t plan_params = 0;                     // its effective parameters (plan_effective_params)
  std::string model_id;
  std::unique_ptr<SequenceKv> kv;
  std::unique_ptr<Sampler> sampler;
  std::vector<int32_t> generated;
  std::vector<const float*> soft;              // per prompt position: soft-token row or nullptr
  std::vector<float> soft_storage;             // encoded media rows
  int prefilled = 0;                           // prompt tokens already in the KV cache
  Clock::time_point submitted, started, first_token;
  bool finished = false;
  bool budget_met = true;
  int64_t kv_reserved = 0;                     // bytes counted against the memory budget

  bool in_prefill() const { return prefilled < static_cast<int>(req.prompt.size()); }
};

}  // namespace gs::runtime
