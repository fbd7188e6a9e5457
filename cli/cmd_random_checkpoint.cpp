// gemma3n-cli random-checkpoint: a random-weight checkpoint in the Hugging Face layout, from a
// preset, a config.json, or a weight recipe (bit-exact).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "runtime/models/gemma3n/random_checkpoint.h"

namespace gs::cli {

int cmd_random_checkpoint(int argc, char** argv) {
  CLI::App app{"Write a random-weight Gemma 3n checkpoint (config.json + safetensors)"};
  std::string out, preset, config_path, recipe_path, dtype = "bf16", towers_from;
  int shards = 1, threads = 0;
  uint64_t seed = 20250626;
  app.add_option("--out", out, "output directory")->required();
  auto* g = app.add_option_group("source");
  g->add_option("--preset", preset, "tiny | demo | e2b | e4b");
  g->add_option("--config", config_path, "a Gemma3nConfig config.json");
  g->add_option("--recipe", recipe_path, "a gemma3n-recipe-v1 file (realised bit-exactly)");
  g->require_option(1);
  app.add_option("--dtype", dtype, "f32 | bf16 (presets and configs)")->capture_default_str();
  app.add_option("--shards", shards, "number of safetensors shards")->capture_default_str();
  app.add_option("--seed", seed, "random seed (presets and configs)")->capture_default_str();
  app.add_option("--towers-from", towers_from, "copy audio/vision tower tensors and configs from this model dir");
  app.add_option("--threads", threads, "threads (0 = all cores)");
  CLI11_PARSE(app, argc, argv);

  using namespace runtime;
  const auto t0 = std::chrono::steady_clock::now();
  Expected<Recipe> rec = make_error(ErrorCode::kInvalidArgument, "no source");
  if (!recipe_path.empty()) {
    rec = load_recipe(recipe_path);
  } else {
    std::string cfg;
    if (!preset.empty()) {
      auto c = gemma3n::preset_config_json(preset);
      if (!c.ok()) {
        std::fprintf(stderr, "error: %s\n", c.error().message.c_str());
        return 1;
      }
      cfg = *c;
    } else {
      std::ifstream f(config_path);
      if (!f) {
        std::fprintf(stderr, "error: cannot read %s\n", config_path.c_str());
        return 1;
      }
      std::stringstream ss;
      ss << f.rdbuf();
      cfg = ss.str();
    }
    if (dtype != "f32" && dtype != "bf16") {
      std::fprintf(stderr, "error: --dtype must be f32 or bf16\n");
      return 1;
    }
    if (!towers_from.empty()) {
      auto merged = gemma3n::with_tower_configs(cfg, towers_from);
      if (!merged.ok()) {
        std::fprintf(stderr, "error: %s\n", merged.error().message.c_str());
        return 1;
      }
      cfg = *merged;
    }
    rec = gemma3n::recipe_from_config(cfg, seed, dtype == "f32" ? DType::kF32 : DType::kBF16);
  }
  if (!rec.ok()) {
    std::fprintf(stderr, "error: %s\n", rec.error().message.c_str());
    return 1;
  }
  ComputeContext ctx(threads);
  auto st = gemma3n::write_checkpoint(*rec, out, shards, towers_from, ctx);
  if (!st.ok()) {
    std::fprintf(stderr, "error: %s\n", st.error().message.c_str());
    return 1;
  }
  int64_t params = 0;
  for (const auto& t : rec->tensors) params += t.numel();
  std::fprintf(stderr, "wrote %s: %zu tensors, %lld parameters, %.1f s\n", out.c_str(), rec->tensors.size(),
               static_cast<long long>(params),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return 0;
}

}  // namespace gs::cli
