#include "runtime/models/gemma3n/random_checkpoint.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "runtime/models/gemma3n/config.h"
#include "runtime/weights/safetensors.h"

namespace gs::runtime::gemma3n {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

json text_config(int hidden, int layers, int heads, int kv_heads, int head_dim, int ffn, int vocab, int vocab_ple,
                 int ple_dim, int laurel, int shared, int window, int sparse_layers) {
  json t;
  t["model_type"] = "gemma3n_text";
  t["hidden_size"] = hidden;
  t["num_hidden_layers"] = layers;
  t["num_attention_heads"] = heads;
  t["num_key_value_heads"] = kv_heads;
  t["head_dim"] = head_dim;
  t["intermediate_size"] = std::vector<int>(static_cast<size_t>(layers), ffn);
  t["vocab_size"] = vocab;
  t["vocab_size_per_layer_input"] = vocab_ple;
  t["hidden_size_per_layer_input"] = ple_dim;
  t["laurel_rank"] = laurel;
  t["num_kv_shared_layers"] = shared;
  t["sliding_window"] = window;
  std::vector<std::string> types;
  std::vector<float> sparsity;
  for (int i = 0; i < layers; ++i) {
    types.push_back((i + 1) % 5 == 0 ? "full_attention" : "sliding_attention");
    sparsity.push_back(i < sparse_layers ? 0.95f : 0.0f);
  }
  t["layer_types"] = types;
  t["activation_sparsity_pattern"] = sparsity;
  t["rope_theta"] = 1000000.0;
  t["rope_local_base_freq"] = 10000.0;
  t["final_logit_softcapping"] = 30.0;
  t["rms_norm_eps"] = 1e-6;
  t["max_position_embeddings"] = 32768;
  t["altup_num_inputs"] = 4;
  t["hidden_activation"] = "gelu_pytorch_tanh";
  return t;
}

json top_config(json text, int vocab_ple, int mm_vocab) {
  json j;
  j["architectures"] = {"Gemma3nForConditionalGeneration"};
  j["model_type"] = "gemma3n";
  j["torch_dtype"] = "bfloat16";
  j["text_config"] = std::move(text);
  // Token layout of the real checkpoints, relative to the per-layer vocabulary.
  j["boi_token_id"] = vocab_ple == 262144 ? 255999 : vocab_ple - 2;
  j["boa_token_id"] = vocab_ple == 262144 ? 256000 : vocab_ple - 1;
  j["eoi_token_id"] = vocab_ple;
  j["image_token_id"] = vocab_ple + 1;
  j["eoa_token_id"] = vocab_ple + mm_vocab;
  j["audio_token_id"] = vocab_ple + mm_vocab + 1;
  j["vision_soft_tokens_per_image"] = 256;
  j["audio_soft_tokens_per_image"] = 188;
  j["vision_config"] = {{"hidden_size", 2048}, {"vocab_offset", vocab_ple}, {"vocab_size", mm_vocab}};
  j["audio_config"] = {{"hidden_size", 1536}, {"vocab_offset", vocab_ple + mm_vocab}, {"vocab_size", mm_vocab}};
  return j;
}

float f32(double v) { return static_cast<float>(v); }

// The recipe rules of tests/fixtures/recipes/README.md §3 (first match wins).
std::pair<double, double> rule(const std::string& n, const std::vector<int64_t>& shape, const TextConfig& c) {
  auto ends = [&](const char* s) { return n.size() >= std::strlen(s) && n.compare(n.size() - std::strlen(s), std::string::npos, s) == 0; };
  const double sq3 = std::sqrt(3.0);
  if (ends("language_model.embed_tokens.weight")) return {0, std::sqrt(3.0 / c.hidden_size)};
  if (ends("embed_tokens_per_layer.weight")) return {0, std::sqrt(3.0 / c.hidden_size_per_layer_input)};
  if (ends(".embedding.weight")) return {0, sq3};
  if (ends("altup.modality_router.weight")) return {0, sq3 * 0.3 * std::sqrt(static_cast<double>(c.hidden_size))};
  if (ends("altup.prediction_coefs.weight") || ends("altup.correction_coefs.weight")) return {0, sq3 * 0.15};
  if (ends("altup.correct_output_scale")) return {1, 0.5};
  if (n == "model.language_model.norm.weight") return {14, 6};
  if (ends("self_attn.q_norm.weight") || ends("self_attn.k_norm.weight")) {
    const double cc = std::pow(4.0 / c.head_dim, 0.25);
    return {cc, 0.3 * cc};
  }
  if (ends("post_attention_layernorm.weight") || ends("post_feedforward_layernorm.weight") ||
      ends("post_per_layer_input_norm.weight"))
    return {0.5, 0.2};
  if (shape.size() == 1) return {1, 0.4};
  int64_t fan_in = 1;
  for (size_t i = 1; i < shape.size(); ++i) fan_in *= shape[i];
  return {0, std::sqrt(3.0 / static_cast<double>(fan_in))};
}

}  // namespace

Expected<std::string> preset_config_json(const std::string& preset) {
  if (preset == "tiny") return top_config(text_config(128, 10, 4, 2, 32, 256, 272, 256, 16, 8, 5, 8, 2), 256, 8).dump(1);
  if (preset == "demo")
    return top_config(text_config(64, 10, 2, 1, 32, 128, 262400, 262144, 8, 4, 5, 64, 2), 262144, 128).dump(1);
  if (preset == "e2b")
    return top_config(text_config(2048, 30, 8, 2, 256, 8192, 262400, 262144, 256, 64, 10, 512, 10), 262144, 128).dump(1);
  if (preset == "e4b")
    return top_config(text_config(2048, 35, 8, 2, 256, 16384, 262400, 262144, 256, 64, 15, 512, 10), 262144, 128).dump(1);
  return make_error(ErrorCode::kInvalidArgument, "unknown preset '" + preset + "' (tiny|demo|e2b|e4b)");
}

Expected<Recipe> recipe_from_config(const std::string& config_json, uint64_t seed, DType dtype) {
  auto cfg = parse_config(config_json);
  if (!cfg.ok()) return cfg.error();
  const TextConfig& c = cfg->text;
  const int64_t D = c.hidden_size, L = c.num_hidden_layers, P = c.hidden_size_per_layer_input, hd = c.head_dim;
  const int64_t H = c.num_attention_heads, KV = c.num_key_value_heads, N = c.altup_num_inputs, r = c.laurel_rank;
  Recipe rec;
  rec.name = "random";
  rec.seed = seed;
  rec.dtype = dtype;
  auto j = json::parse(config_json);
  j["torch_dtype"] = dtype == DType::kBF16 ? "bfloat16" : "float32";
  rec.config_json = j.dump(1);
  auto add = [&](const std::string& name, std::vector<int64_t> shape) {
    auto [off, sc] = rule(name, shape, c);
    rec.tensors.push_back({name, std::move(shape), static_cast<double>(f32(off)), static_cast<double>(f32(sc))});
  };
  const std::string p = "model.language_model.";
  add(p + "embed_tokens.weight", {c.vocab_size, D});
  add(p + "embed_tokens_per_layer.weight", {c.vocab_size_per_layer_input, L * P});
  add(p + "per_layer_model_projection.weight", {L * P, D});
  add(p + "per_layer_projection_norm.weight", {P});
  add(p + "norm.weight", {D});
  for (int64_t i = 0; i + 1 < N; ++i) {
    add(p + "altup_projections." + std::to_string(i) + ".weight", {D, D});
    add(p + "altup_unembed_projections." + std::to_string(i) + ".weight", {D, D});
  }
  for (int64_t l = 0; l < L; ++l) {
    const std::string q = p + "layers." + std::to_string(l) + ".";
    const int64_t F = c.intermediate_size[l];
    add(q + "self_attn.q_proj.weight", {H * hd, D});
    add(q + "self_attn.k_proj.weight", {KV * hd, D});
    add(q + "self_attn.v_proj.weight", {KV * hd, D});
    add(q + "self_attn.o_proj.weight", {D, H * hd});
    add(q + "self_attn.q_norm.weight", {hd});
    add(q + "self_attn.k_norm.weight", {hd});
    add(q + "mlp.gate_proj.weight", {F, D});
    add(q + "mlp.up_proj.weight", {F, D});
    add(q + "mlp.down_proj.weight", {D, F});
    for (const char* nrm : {"input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
                            "post_feedforward_layernorm", "post_per_layer_input_norm"})
      add(q + nrm + ".weight", {D});
    add(q + "altup.correct_output_scale", {D});
    add(q + "altup.correction_coefs.weight", {N, N});
    add(q + "altup.prediction_coefs.weight", {N * N, N});
    add(q + "altup.modality_router.weight", {N, D});
    add(q + "altup.router_norm.weight", {D});
    add(q + "laurel.linear_left.weight", {r, D});
    add(q + "laurel.linear_right.weight", {D, r});
    add(q + "laurel.post_laurel_norm.weight", {D});
    add(q + "per_layer_input_gate.weight", {P, D});
    add(q + "per_layer_projection.weight", {D, P});
  }
  for (auto [name, vocab, in] : {std::tuple{"vision", cfg->vision_vocab_size, cfg->vision_hidden_size},
                                 std::tuple{"audio", cfg->audio_vocab_size, cfg->audio_hidden_size}}) {
    const std::string e = std::string("model.embed_") + name + ".";
    add(e + "embedding.weight", {vocab, in});
    add(e + "hard_embedding_norm.weight", {in});
    add(e + "soft_embedding_norm.weight", {in});
    add(e + "embedding_projection.weight", {D, in});
  }
  std::sort(rec.tensors.begin(), rec.tensors.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return rec;
}

Expected<std::string> with_tower_configs(const std::string& config_json, const std::string& towers_dir) {
  json cfg = json::parse(config_json, nullptr, false);
  std::ifstream f(fs::path(towers_dir) / "config.json");
  json src = json::parse(f, nullptr, false);
  if (!cfg.is_object()) return make_error(ErrorCode::kInvalidArgument, "config is not a JSON object");
  if (!src.is_object()) return make_error(ErrorCode::kNotFound, "no config.json in " + towers_dir);
  // The towers' configs travel with their tensors; the token layout stays the text model's.
  for (const char* k : {"audio_config", "vision_config"})
    if (src.contains(k)) {
      json merged = src[k];
      for (const char* keep : {"vocab_offset", "vocab_size"})
        if (cfg.contains(k) && cfg[k].contains(keep)) merged[keep] = cfg[k][keep];
      cfg[k] = merged;
    }
  // The towers fix how many soft tokens an image / a clip yields.
  for (const char* k : {"vision_soft_tokens_per_image", "audio_soft_tokens_per_image"})
    if (src.contains(k)) cfg[k] = src[k];
  return cfg.dump(1);
}

Status write_checkpoint(const Recipe& recipe, const std::string& out_dir, int shards, const std::string& extra_from,
                        const ComputeContext& ctx) {
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  json cfg = json::parse(recipe.config_json, nullptr, false);
  if (!cfg.is_object()) return make_error(ErrorCode::kInvalidArgument, "recipe config is not a JSON object");
  if (!extra_from.empty()) {
    auto merged = with_tower_configs(recipe.config_json, extra_from);
    if (!merged.ok()) return merged.error();
    cfg = json::parse(*merged);
    for (const char* f : {"preprocessor_config.json", "processor_config.json"})
      if (fs::exists(fs::path(extra_from) / f))
        fs::copy_file(fs::path(extra_from) / f, fs::path(out_dir) / f, fs::copy_options::overwrite_existing, ec);
  }
  std::ofstream(fs::path(out_dir) / "config.json") << cfg.dump(1) << "\n";
  json gen = {{"bos_token_id", 2}, {"eos_token_id", {1, 106}}, {"pad_token_id", 0}, {"do_sample", true},
              {"top_k", 64}, {"top_p", 0.95}, {"cache_implementation", "hybrid"}};
  std::ofstream(fs::path(out_dir) / "generation_config.json") << gen.dump(1) << "\n";

  shards = std::max(1, shards);
  const size_t n = recipe.tensors.size();
  json weight_map = json::object();
  uint64_t total = 0;
  for (int s = 0; s < shards; ++s) {
    Recipe part = recipe;
    part.tensors.assign(recipe.tensors.begin() + static_cast<long>(n * s / shards),
                        recipe.tensors.begin() + static_cast<long>(n * (s + 1) / shards));
    char name[64];
    if (shards == 1) std::snprintf(name, sizeof name, "model.safetensors");
    else std::snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", s + 1, shards);
    auto st = write_recipe_safetensors(part, (fs::path(out_dir) / name).string(), ctx);
    if (!st.ok()) return st;
    for (const auto& t : part.tensors) {
      weight_map[t.name] = name;
      total += static_cast<uint64_t>(t.numel()) * dtype_size(recipe.dtype);
    }
  }
  if (!extra_from.empty()) {
    auto src = WeightStore::open(extra_from);
    if (!src.ok()) return src.error();
    // Tower tensors are appended as one extra file in their own dtype (a safetensors file may mix dtypes).
    std::vector<const TensorRef*> towers;
    for (const auto& [name, t] : src->tensors())
      if (name.starts_with("model.audio_tower.") || name.starts_with("model.vision_tower.")) towers.push_back(&t);
    if (!towers.empty()) {
      json h = json::object();
      h["__metadata__"] = {{"format", "pt"}};
      uint64_t off = 0;
      for (const TensorRef* t : towers) {
        h[t->name] = {{"dtype", std::string(dtype_name(t->dtype))}, {"shape", t->shape}, {"data_offsets", {off, off + t->nbytes}}};
        off += t->nbytes;
      }
      std::string hs = h.dump();
      hs.append((8 - hs.size() % 8) % 8, ' ');
      const std::string fname = "model-towers.safetensors";
      std::ofstream f(fs::path(out_dir) / fname, std::ios::binary);
      const uint64_t hl = hs.size();
      f.write(reinterpret_cast<const char*>(&hl), 8);
      f.write(hs.data(), static_cast<std::streamsize>(hs.size()));
      for (const TensorRef* t : towers) {
        f.write(reinterpret_cast<const char*>(t->data), static_cast<std::streamsize>(t->nbytes));
        weight_map[t->name] = fname;
        total += t->nbytes;
      }
      if (!f) return make_error(ErrorCode::kInternal, "cannot write " + fname);
      if (shards == 1) shards = 2;  // now several files: an index is needed
    }
  }
  if (shards > 1) {
    json idx = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
    std::ofstream(fs::path(out_dir) / "model.safetensors.index.json") << idx.dump(2) << "\n";
  }
  return ok_status();
}

}  // namespace gs::runtime::gemma3n
