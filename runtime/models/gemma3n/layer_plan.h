// Which layers a forward pass runs and how wide each FFN is: the whole model, or a MatFormer
// slice of it (skipped layers, FFN prefixes) served from the same weights without copies.
#pragma once
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
// Number of parameters the plan touches per token (embedding + PLE row excluded... see .cpp).
int64_t plan_effective_params(const TextConfig& c, const LayerPlan& p);

}  // namespace gs::runtime::gemma3n
