// MatFormer slice presets (config/matformer_slices.json: the 16 published slicing configs) and
// custom slice files in the same format.
#pragma once
#include <string>
#include <vector>

#include "runtime/models/gemma3n/layer_plan.h"

namespace gs::runtime::gemma3n {

// Parses a presets document {"base_layers", "slices": [{name, layers_skipped, ffn_hidden_dims}]}.
Expected<std::vector<SliceSpec>> parse_slice_presets(const std::string& json_text, int* base_layers);
// The presets file: $GEMMA3N_SLICES, else the one shipped with the sources/installation.
std::string default_presets_path();
// The presets that apply to a loaded model (same layer count as the presets' base model).
std::vector<SliceSpec> applicable_presets(const TextConfig& c, const std::string& presets_path);
// `name_or_file`: a preset name, or a path to a slice JSON file.
Expected<SliceSpec> resolve_slice(const std::string& name_or_file, const TextConfig& c,
                                  const std::string& presets_path = default_presets_path());

}  // namespace gs::runtime::gemma3n
