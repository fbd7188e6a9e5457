#include "runtime/models/gemma3n/layer_plan.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

namespace gs::runtime::gemma3n {

LayerPlan full_plan(const TextConfig& c) {
  LayerPlan p;
  p.name = "full";
  for (int l = 0; l < c.num_hidden_layers; ++l)
    p.layers.push_back({l, c.intermediate_size[l], c.layer_types[l], c.activation_sparsity[l], c.kv_source_layer(l)});
  return p;
}

Expected<LayerPlan> slice_plan(const TextConfig& c, const SliceSpec& s) {
  const int L = c.num_hidden_layers;
  std::set<int> skipped;
  for (int l : s.layers_skipped) {
    if (l < 0 || l >= L) return make_error(ErrorCode::kInvalidArgument, "slice '" + s.name + "': layer " +
                                                                            std::to_string(l) + " is out of range");
    skipped.insert(l);
  }
  std::vector<int> kept;
  for (int l = 0; l < L; ++l)
    if (!skipped.count(l)) kept.push_back(l);
  if (kept.empty()) return make_error(ErrorCode::kInvalidArgument, "slice '" + s.name + "' keeps no layer");
  if (s.ffn_hidden_dims.size() != kept.size())
    return make_error(ErrorCode::kInvalidArgument, "slice '" + s.name + "': ffn_hidden_dims needs " +
                                                       std::to_string(kept.size()) + " entries (one per kept layer)");
  // The sliced model's sharing map, as the MatFormer recipe rewrites num_kv_shared_layers.
  const int first_shared = c.first_kv_shared_layer();
  int removed_shared = 0;
  for (int l : skipped) removed_shared += l >= first_shared;
  const int new_shared = c.num_kv_shared_layers - removed_shared;
  const int new_first = static_cast<int>(kept.size()) - new_shared;
  LayerPlan p;
  p.name = s.name;
  p.is_full_model = skipped.empty();
  for (size_t j = 0; j < kept.size(); ++j) {
    const int l = kept[j];
    const int w = s.ffn_hidden_dims[j];
    if (w <= 0 || w > c.intermediate_size[l])
      return make_error(ErrorCode::kInvalidArgument, "slice '" + s.name + "': FFN width " + std::to_string(w) +
                                                         " of layer " + std::to_string(l) + " exceeds the checkpoint's");
    // A narrower FFN reads the first w columns of down_proj: whole blocks of the widest
    // quantized block (q4: 64) keep every weight format able to serve the slice.
    if (w != c.intermediate_size[l] && w % 64 != 0)
      return make_error(ErrorCode::kInvalidArgument, "slice '" + s.name + "': FFN width " + std::to_string(w) +
                                                         " of layer " + std::to_string(l) + " must be a multiple of 64");
    if (w != c.intermediate_size[l]) p.is_full_model = false;
    PlannedLayer pl{l, w, c.layer_types[l], c.activation_sparsity[l], -1};
    if (static_cast<int>(j) >= new_first) {
      for (int k = new_first - 1; k >= 0; --k)
        if (c.layer_types[kept[k]] == pl.type) {
          pl.kv_source = kept[k];
          break;
        }
      if (pl.kv_source < 0 || c.kv_source_layer(pl.kv_source) >= 0)
        return make_error(ErrorCode::kInvalidArgument,
                          "slice '" + s.name + "' removes the KV producer layers its shared layers need");
    } else if (c.kv_source_layer(l) >= 0) {
      return make_error(ErrorCode::kInvalidArgument,
                        "slice '" + s.name + "' would make KV-shared layer " + std::to_string(l) + " a producer");
    }
    p.layers.push_back(pl);
  }
  return p;
}

Expected<SliceSpec> parse_slice_spec(const std::string& json_text) {
  auto j = nlohmann::json::parse(json_text, nullptr, false);
  if (!j.is_object()) return make_error(ErrorCode::kInvalidArgument, "slice spec is not a JSON object");
  SliceSpec s;
  if (!j.contains("name") || !j["name"].is_string())
    return make_error(ErrorCode::kInvalidArgument, "slice spec: 'name' (string) is required");
  s.name = j["name"].get<std::string>();
  for (const char* k : {"layers_skipped", "ffn_hidden_dims"}) {
    if (!j.contains(k) || !j[k].is_array())
      return make_error(ErrorCode::kInvalidArgument, std::string("slice spec: '") + k + "' (list) is required");
    for (const auto& v : j[k])
      if (!v.is_number_integer())
        return make_error(ErrorCode::kInvalidArgument, std::string("slice spec: '") + k + "' must hold integers");
  }
  s.layers_skipped = j["layers_skipped"].get<std::vector<int>>();
  s.ffn_hidden_dims = j["ffn_hidden_dims"].get<std::vector<int>>();
  return s;
}

namespace {
// Per original layer: -2 absent, -1 producer, else the layer whose K/V it reads.
std::vector<int> kv_roles(const LayerPlan& p, size_t n) {
  std::vector<int> v(n, -2);
  for (const auto& pl : p.layers)
    if (pl.layer >= 0 && static_cast<size_t>(pl.layer) < n) v[pl.layer] = pl.kv_source;
  return v;
}
}  // namespace

bool step_compatible(const LayerPlan& a, const LayerPlan& b) {
  size_t n = 0;
  for (const auto* p : {&a, &b})
    for (const auto& pl : p->layers) n = std::max(n, static_cast<size_t>(pl.layer) + 1);
  const auto ra = kv_roles(a, n), rb = kv_roles(b, n);
  for (size_t l = 0; l < n; ++l) {
    if ((ra[l] == -1) != (rb[l] == -1)) return false;                  // a producer in one only
    if (ra[l] >= 0 && rb[l] >= 0 && ra[l] != rb[l]) return false;      // different sources
  }
  return true;
}

Expected<std::vector<StepLayer>> step_layers(const TextConfig& c, std::span<const LayerPlan* const> plans) {
  const int L = c.num_hidden_layers;
  std::vector<StepLayer> by_layer(static_cast<size_t>(L));
  std::vector<bool> used(static_cast<size_t>(L), false);
  for (size_t i = 0; i < plans.size(); ++i) {
    if (!step_compatible(*plans[0], *plans[i]))
      return make_error(ErrorCode::kInvalidArgument, "MatFormer sizes '" + plans[0]->name + "' and '" + plans[i]->name +
                                                         "' assign different KV roles and cannot share a step");
    for (const auto& pl : plans[i]->layers) {
      if (pl.layer < 0 || pl.layer >= L) return make_error(ErrorCode::kInvalidArgument, "plan layer out of range");
      StepLayer& s = by_layer[pl.layer];
      if (!used[pl.layer]) {
        s.pl = pl;
        s.width.assign(plans.size(), 0);
        used[pl.layer] = true;
      }
      s.pl.ffn_width = std::max(s.pl.ffn_width, pl.ffn_width);
      s.width[i] = pl.ffn_width;
    }
  }
  std::vector<StepLayer> out;
  for (int l = 0; l < L; ++l)
    if (used[l]) out.push_back(std::move(by_layer[l]));
  return out;
}

int64_t plan_effective_params(const TextConfig& c, const LayerPlan& p) {
  // What the model card calls "effective" parameters: everything but the PLE table (which is
  // read one row per token), counted for the layers and widths this plan runs.
  const int64_t D = c.hidden_size, hd = c.head_dim, H = c.num_attention_heads, KV = c.num_key_value_heads;
  const int64_t N = c.altup_num_inputs, P = c.hidden_size_per_layer_input, r = c.laurel_rank;
  int64_t n = static_cast<int64_t>(c.vocab_size) * D + 2 * (N - 1) * D * D + D;
  n += static_cast<int64_t>(p.layers.size()) * P * D + P;
  for (const auto& pl : p.layers) {
    n += 2 * H * hd * D + hd + 3 * static_cast<int64_t>(pl.ffn_width) * D + 8 * D;
    if (pl.kv_source < 0) n += 2 * KV * hd * D + hd;
    n += N * N + N * N * N + N * D + 2 * r * D + 2 * P * D;
  }
  return n;
}

}  // namespace gs::runtime::gemma3n
