// Which layers a forward pass runs and how wide each FFN is: the whole model, or a MatFormer
// slice of it (skipped layers, FFN prefixes) served from the same weights without copies.
#pragma once
#include <span>
#include <string>
#include <vector>

#include "runtime/core/status.h"
#include "runtime/models/gemma3n/config.h"

namespace gs::runtime::gemma3n {

// A MatFormer slicing config (the published configs.csv rows, or a custom JSON file).
struct SliceSpec {
  std::string name;
  std::vector<int> layers_skipped;   // original layer indices
  std::vector<int> ffn_hidden_dims;  // one width per kept layer
};

struct PlannedLayer {
  int layer = 0;          // original layer index (weights, PLE slot)
  int ffn_width = 0;      // <= the checkpoint's width: prefix of gate/up rows, down columns
  LayerType type = LayerType::kSliding;
  float sparsity = 0.f;
  int kv_source = -1;     // original index of the layer whose K/V this one reads; -1: its own
};

struct LayerPlan {
  std::string name;
  std::vector<PlannedLayer> layers;
  bool is_full_model = true;
};

LayerPlan full_plan(const TextConfig& c);
// Validates the slice against the loaded model (widths within the checkpoint's, producers kept).
Expected<LayerPlan> slice_plan(const TextConfig& c, const SliceSpec& s);
// Parses {"name", "layers_skipped", "ffn_hidden_dims"} JSON text.
Expected<SliceSpec> parse_slice_spec(const std::string& json_text);
// Sequences of different MatFormer sizes of one model share a forward step when their plans agree
// on every KV role: the same producer layers, and the same source for each consumer both keep.
bool step_compatible(const LayerPlan& a, const LayerPlan& b);

// One layer of a step whose sequences may use different (compatible) plans: pl is the layer with
// the widest FFN any plan gives it; width[i] is plan i's FFN width for it (0: plan i skips it).
struct StepLayer {
  PlannedLayer pl;
  std::vector<int> width;
};
// Every layer some plan keeps, in model order. Fails for incompatible plans.
Expected<std::vector<StepLayer>> step_layers(const TextConfig& c, std::span<const LayerPlan* const> plans);

// Number of parameters the plan touches per token (embedding + PLE row excluded... see .cpp).
int64_t plan_effective_params(const TextConfig& c, const LayerPlan& p);

}  // namespace gs::runtime::gemma3n
