// Random-weight Gemma 3n checkpoints in the real Hugging Face layout, for tests and benchmarks.
// A checkpoint is described as a weight recipe (runtime/weights/recipe.h): the tensor list comes
// from the config, offsets/scales from the recipe rules (tests/fixtures/recipes/README.md §3),
// so a preset, a config or a published recipe are all written by the same code.
#pragma once
#include <string>

#include "runtime/core/threading.h"
#include "runtime/weights/recipe.h"

namespace gs::runtime::gemma3n {

// config.json text of a preset: "tiny" (the fixture-sized model, real token layout of 272 ids),
// "demo" (tiny layers, the real 262144+256 vocabulary: the embedded demo model), "e2b", "e4b".
Expected<std::string> preset_config_json(const std::string& preset);

// A recipe for every text-decoder and multimodal-embedder tensor implied by `config_json`.
Expected<Recipe> recipe_from_config(const std::string& config_json, uint64_t seed, DType dtype);

// `config_json` with the audio/vision sub-configs (and soft-token counts) of the model in
// towers_dir, whose tower tensors write_checkpoint copies; call before recipe_from_config so the
// multimodal embedders get the towers' widths.
Expected<std::string> with_tower_configs(const std::string& config_json, const std::string& towers_dir);

// Writes config.json, generation_config.json and the weights (one file, or `shards` files with
// model.safetensors.index.json) into out_dir. Tensors of `extra_from` (a model directory) whose
// names start with model.audio_tower. / model.vision_tower. are copied verbatim when given.
Status write_checkpoint(const Recipe& recipe, const std::string& out_dir, int shards, const std::string& extra_from,
                        const ComputeContext& ctx);

}  // namespace gs::runtime::gemma3n
