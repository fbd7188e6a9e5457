// Weight recipes (`gemma3n-recipe-v1`, tests/fixtures/recipes/README.md): every tensor of a
// checkpoint defined by (name, shape, offset, scale) and a seed, so real-size checkpoints can be
// regenerated bit-exactly from a small JSON file. Element i of tensor N:
//   key = fnv1a64(N) ^ seed; r = splitmix64(key + i); u = (r >> 40)·2^-23 - 1
//   v = float32(offset + scale·u) (binary64 arithmetic, one RNE rounding); bf16 = RNE(v)
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/dtype.h"
#include "runtime/core/status.h"
#include "runtime/core/threading.h"

namespace gs::runtime {

struct RecipeTensor {
  std::string name;
  std::vector<int64_t> shape;
  double offset = 0.0;
  double scale = 0.0;
  int64_t numel() const;
};

struct Recipe {
  std::string name;           // informational
  uint64_t seed = 0;
  DType dtype = DType::kF32;  // kF32 or kBF16
  std::string config_json;    // the checkpoint's complete config.json content
  std::vector<RecipeTensor> tensors;  // sorted by name (byte-wise)
};

Expected<Recipe> parse_recipe(std::string_view json_text);
Expected<Recipe> load_recipe(const std::string& path);

uint64_t recipe_fnv1a64(std::string_view bytes);
uint64_t recipe_splitmix64(uint64_t x);
// key of a tensor: fnv1a64(name) ^ seed
inline uint64_t recipe_key(std::string_view name, uint64_t seed) { return recipe_fnv1a64(name) ^ seed; }
float recipe_value_f32(uint64_t key, uint64_t i, double offset, double scale);

// Writes elements [begin, end) of `t` to dst (recipe.dtype elements; dst points at element `begin`).
void realise_range(const Recipe& recipe, const RecipeTensor& t, int64_t begin, int64_t end, void* dst);
// The whole tensor (numel elements of recipe.dtype).
void realise(const Recipe& recipe, const RecipeTensor& t, void* dst);

// A safetensors file with every recipe tensor, header sorted by name (as the safetensors library
// writes a single-dtype file). Streams tensor by tensor in bounded chunks filled in parallel, so
// memory stays small whatever the checkpoint size.
Status write_recipe_safetensors(const Recipe& recipe, const std::string& path, const ComputeContext& ctx);

}  // namespace gs::runtime
