#include "runtime/models/gemma3n/config.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace gs::runtime::gemma3n {
namespace {

using nlohmann::json;

Error cfg_error(const std::string& key, const std::string& what) {
  return make_error(ErrorCode::kInvalidArgument, "config.json: '" + key + "' " + what);
}

// Reads an optional numeric key into `out`; wrong types are errors.
template <typename T>
Status get_num(const json& j, const std::string& prefix, const char* key, T* out, bool required = false) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) return cfg_error(prefix + key, "is required but missing");
    return ok_status();
  }
  if constexpr (std::is_same_v<T, bool>) {
    if (!it->is_boolean()) return cfg_error(prefix + key, "must be a boolean");
  } else {
    if (!it->is_number()) return cfg_error(prefix + key, "must be a number");
  }
  *out = it->get<T>();
  return ok_status();
}

#define GS_TRY(expr)                 \
  do {                               \
    auto _st = (expr);               \
    if (!_st.ok()) return _st.error(); \
  } while (0)

Status parse_text(const json& t, TextConfig* c) {
  const std::string p = "text_config.";
  GS_TRY(get_num(t, p, "hidden_size", &c->hidden_size, true));
  GS_TRY(get_num(t, p, "num_hidden_layers", &c->num_hidden_layers, true));
  GS_TRY(get_num(t, p, "num_attention_heads", &c->num_attention_heads));
  GS_TRY(get_num(t, p, "num_key_value_heads", &c->num_key_value_heads));
  GS_TRY(get_num(t, p, "head_dim", &c->head_dim));
  GS_TRY(get_num(t, p, "vocab_size", &c->vocab_size, true));
  GS_TRY(get_num(t, p, "vocab_size_per_layer_input", &c->vocab_size_per_layer_input));
  GS_TRY(get_num(t, p, "hidden_size_per_layer_input", &c->hidden_size_per_layer_input));
  GS_TRY(get_num(t, p, "sliding_window", &c->sliding_window));
  GS_TRY(get_num(t, p, "final_logit_softcapping", &c->final_logit_softcapping));
  GS_TRY(get_num(t, p, "rms_norm_eps", &c->rms_norm_eps));
  GS_TRY(get_num(t, p, "max_position_embeddings", &c->max_position_embeddings));
  GS_TRY(get_num(t, p, "altup_num_inputs", &c->altup_num_inputs));
  GS_TRY(get_num(t, p, "altup_active_idx", &c->altup_active_idx));
  GS_TRY(get_num(t, p, "altup_coef_clip", &c->altup_coef_clip));
  GS_TRY(get_num(t, p, "altup_correct_scale", &c->altup_correct_scale));
  GS_TRY(get_num(t, p, "laurel_rank", &c->laurel_rank));
  GS_TRY(get_num(t, p, "num_kv_shared_layers", &c->num_kv_shared_layers));
  GS_TRY(get_num(t, p, "rope_theta", &c->rope_theta_full));
  GS_TRY(get_num(t, p, "rope_local_base_freq", &c->rope_theta_sliding));
  // Newer transformers: rope_parameters.{full_attention,sliding_attention}.rope_theta
  if (auto rp = t.find("rope_parameters"); rp != t.end() && rp->is_object()) {
    if (auto f = rp->find("full_attention"); f != rp->end() && f->is_object())
      GS_TRY(get_num(*f, p + "rope_parameters.full_attention.", "rope_theta", &c->rope_theta_full));
    if (auto s = rp->find("sliding_attention"); s != rp->end() && s->is_object())
      GS_TRY(get_num(*s, p + "rope_parameters.sliding_attention.", "rope_theta", &c->rope_theta_sliding));
  }
  const int L = c->num_hidden_layers;
  if (L <= 0 || L > 1024) return cfg_error(p + "num_hidden_layers", "must be in 1..1024");
  if (c->hidden_size <= 0 || c->head_dim <= 0 || c->head_dim % 2 || c->num_attention_heads <= 0 ||
      c->num_key_value_heads <= 0 || c->num_attention_heads % c->num_key_value_heads)
    return cfg_error(p + "head_dim", "/ head counts are inconsistent");
  if (c->altup_num_inputs < 1 || c->altup_active_idx < 0 || c->altup_active_idx >= c->altup_num_inputs)
    return cfg_error(p + "altup_num_inputs", "is inconsistent with altup_active_idx");
  if (c->num_kv_shared_layers < 0 || c->num_kv_shared_layers >= L)
    return cfg_error(p + "num_kv_shared_layers", "must be in 0..num_hidden_layers-1");
  if (c->vocab_size <= 0 || c->vocab_size_per_layer_input <= 0 || c->vocab_size_per_layer_input > c->vocab_size)
    return cfg_error(p + "vocab_size_per_layer_input", "must be in 1..vocab_size");

  // intermediate_size: scalar or per-layer list.
  c->intermediate_size.assign(L, 16384);
  if (auto it = t.find("intermediate_size"); it != t.end()) {
    if (it->is_number_integer()) {
      c->intermediate_size.assign(L, it->get<int>());
    } else if (it->is_array()) {
      if (static_cast<int>(it->size()) != L) return cfg_error(p + "intermediate_size", "must have one entry per layer");
      for (int i = 0; i < L; ++i) {
        if (!(*it)[i].is_number_integer()) return cfg_error(p + "intermediate_size", "entries must be integers");
        c->intermediate_size[i] = (*it)[i].get<int>();
      }
    } else {
      return cfg_error(p + "intermediate_size", "must be an integer or a list");
    }
  }
  for (int w : c->intermediate_size)
    if (w <= 0) return cfg_error(p + "intermediate_size", "entries must be positive");

  c->layer_types.resize(L);
  if (auto it = t.find("layer_types"); it != t.end() && !it->is_null()) {
    // MatFormer-sliced configs may keep the parent's longer list; the first L entries apply.
    if (!it->is_array() || static_cast<int>(it->size()) < L)
      return cfg_error(p + "layer_types", "must be a list with one entry per layer");
    for (int i = 0; i < L; ++i) {
      const auto& v = (*it)[i];
      if (v == "sliding_attention") c->layer_types[i] = LayerType::kSliding;
      else if (v == "full_attention") c->layer_types[i] = LayerType::kFull;
      else return cfg_error(p + "layer_types", "entries must be sliding_attention or full_attention");
    }
  } else {
    for (int i = 0; i < L; ++i) c->layer_types[i] = (i + 1) % 5 == 0 ? LayerType::kFull : LayerType::kSliding;
  }

  c->activation_sparsity.assign(L, 0.f);
  if (auto it = t.find("activation_sparsity_pattern"); it != t.end() && !it->is_null()) {
    if (!it->is_array() || static_cast<int>(it->size()) != L)
      return cfg_error(p + "activation_sparsity_pattern", "must have one entry per layer");
    for (int i = 0; i < L; ++i) {
      if (!(*it)[i].is_number()) return cfg_error(p + "activation_sparsity_pattern", "entries must be numbers");
      c->activation_sparsity[i] = (*it)[i].get<float>();
      if (c->activation_sparsity[i] < 0.f || c->activation_sparsity[i] >= 1.f)
        return cfg_error(p + "activation_sparsity_pattern", "entries must be in [0, 1)");
    }
  } else {
    for (int i = 0; i < L && i < 10; ++i) c->activation_sparsity[i] = 0.95f;
  }
  for (int l = c->first_kv_shared_layer(); l < L; ++l)
    if (c->kv_source_layer(l) < 0)
      return cfg_error(p + "num_kv_shared_layers", "leaves a shared layer without a producer of its type");
  return ok_status();
}

int sub_int(const json& j, const char* sub, const char* key, int dflt) {
  auto s = j.find(sub);
  if (s == j.end() || !s->is_object()) return dflt;
  auto k = s->find(key);
  return (k != s->end() && k->is_number_integer()) ? k->get<int>() : dflt;
}

}  // namespace

int TextConfig::kv_source_layer(int layer) const {
  const int first = first_kv_shared_layer();
  if (layer < first) return -1;
  for (int l = first - 1; l >= 0; --l)
    if (layer_types[l] == layer_types[layer]) return l;
  return -1;
}

bool TextConfig::kv_is_shared_source(int layer) const {
  for (int l = first_kv_shared_layer(); l < num_hidden_layers; ++l)
    if (kv_source_layer(l) == layer) return true;
  return false;
}

Expected<Gemma3nConfig> parse_config(const std::string& json_text) {
  json j = json::parse(json_text, nullptr, false);
  if (!j.is_object()) return make_error(ErrorCode::kInvalidArgument, "config.json is not a JSON object");
  Gemma3nConfig c;
  // Gemma3nForCausalLM-style configs hold the text fields at the top level.
  const bool nested = j.contains("text_config");
  if (nested && !j["text_config"].is_object()) return cfg_error("text_config", "must be an object");
  GS_TRY(parse_text(nested ? j["text_config"] : j, &c.text));
  for (const char* k : {"torch_dtype", "dtype"})
    if (auto it = j.find(k); it != j.end() && it->is_string()) c.storage_dtype = it->get<std::string>();
  GS_TRY(get_num(j, "", "boi_token_id", &c.boi_token_id));
  GS_TRY(get_num(j, "", "eoi_token_id", &c.eoi_token_id));
  GS_TRY(get_num(j, "", "image_token_id", &c.image_token_id));
  GS_TRY(get_num(j, "", "boa_token_id", &c.boa_token_id));
  GS_TRY(get_num(j, "", "eoa_token_id", &c.eoa_token_id));
  GS_TRY(get_num(j, "", "audio_token_id", &c.audio_token_id));
  GS_TRY(get_num(j, "", "vision_soft_tokens_per_image", &c.vision_soft_tokens_per_image));
  GS_TRY(get_num(j, "", "audio_soft_tokens_per_image", &c.audio_soft_tokens_per_image));
  c.vision_vocab_offset = sub_int(j, "vision_config", "vocab_offset", c.vision_vocab_offset);
  c.vision_vocab_size = sub_int(j, "vision_config", "vocab_size", c.vision_vocab_size);
  c.vision_hidden_size = sub_int(j, "vision_config", "hidden_size", c.vision_hidden_size);
  c.audio_vocab_offset = sub_int(j, "audio_config", "vocab_offset", c.audio_vocab_offset);
  c.audio_vocab_size = sub_int(j, "audio_config", "vocab_size", c.audio_vocab_size);
  c.audio_hidden_size = sub_int(j, "audio_config", "hidden_size", c.audio_hidden_size);
  if (auto it = j.find("audio_config"); it != j.end() && it->is_object()) c.audio_config_json = it->dump();
  if (auto it = j.find("vision_config"); it != j.end() && it->is_object()) c.vision_config_json = it->dump();
  return c;
}

Expected<Gemma3nConfig> load_config(const std::string& model_dir) {
  namespace fs = std::filesystem;
  std::ifstream f(fs::path(model_dir) / "config.json");
  if (!f) return make_error(ErrorCode::kNotFound, "no config.json in " + model_dir);
  std::stringstream ss;
  ss << f.rdbuf();
  auto c = parse_config(ss.str());
  if (!c.ok()) return c;
  std::ifstream g(fs::path(model_dir) / "generation_config.json");
  if (g) {
    json gj = json::parse(g, nullptr, false);
    if (gj.is_object()) {
      if (auto it = gj.find("eos_token_id"); it != gj.end()) {
        std::vector<int> ids;
        if (it->is_number_integer()) ids.push_back(it->get<int>());
        if (it->is_array())
          for (const auto& v : *it)
            if (v.is_number_integer()) ids.push_back(v.get<int>());
        if (!ids.empty()) c->eos_token_ids = ids;
      }
      if (auto it = gj.find("bos_token_id"); it != gj.end() && it->is_number_integer()) c->bos_token_id = it->get<int>();
      if (auto it = gj.find("pad_token_id"); it != gj.end() && it->is_number_integer()) c->pad_token_id = it->get<int>();
    }
  }
  return c;
}

}  // namespace gs::runtime::gemma3n
