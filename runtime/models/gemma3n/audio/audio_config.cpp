#include "runtime/models/gemma3n/audio/audio_config.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <type_traits>

namespace gs::runtime::gemma3n {
namespace {

using nlohmann::json;

Error bad(const std::string& key, const std::string& why) {
  return make_error(ErrorCode::kCorruptFile, "audio_config." + key + ": " + why);
}

template <typename T>
Status read_num(const json& j, const char* key, T* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return ok_status();
  if (!it->is_number()) return bad(key, "not a number");
  // Range-check as double first: converting an out-of-range double to int is undefined.
  const double v = it->get<double>();
  if (!std::isfinite(v) || std::fabs(v) > 1e12) return bad(key, "out of range");
  if constexpr (std::is_integral_v<T>) {
    if (v != std::floor(v) || std::fabs(v) > 1e9) return bad(key, "must be an integer");
  }
  *out = static_cast<T>(v);
  return ok_status();
}

bool small_int(const json& v) {
  return v.is_number_integer() && v.get<int64_t>() >= -(int64_t{1} << 30) && v.get<int64_t>() <= (int64_t{1} << 30);
}

Status read_pair_list(const json& j, const char* key, std::array<std::array<int, 2>, 2>* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return ok_status();
  if (!it->is_array() || it->size() != 2) return bad(key, "expected two [time, freq] pairs");
  for (size_t i = 0; i < 2; ++i) {
    const json& p = (*it)[i];
    if (!p.is_array() || p.size() != 2 || !small_int(p[0]) || !small_int(p[1]))
      return bad(key, "expected two [time, freq] pairs");
    (*out)[i] = {p[0].get<int>(), p[1].get<int>()};
  }
  return ok_status();
}

Status validate(const AudioConfig& c) {
  auto positive = [](int v) { return v > 0 && v < (1 << 20); };
  if (!positive(c.input_feat_size)) return bad("input_feat_size", "must be positive");
  if (!positive(c.hidden_size) || !positive(c.num_heads) || c.hidden_size % c.num_heads != 0)
    return bad("hidden_size", "must be a positive multiple of conf_num_attention_heads");
  if (c.hidden_size % 2 != 0) return bad("hidden_size", "must be even (sin/cos position table)");
  if (c.num_layers < 0 || c.num_layers > 1000) return bad("conf_num_hidden_layers", "out of range");
  if (!positive(c.chunk_size)) return bad("conf_attention_chunk_size", "must be positive");
  if (c.context_left < 1 || c.context_right < 0) return bad("conf_attention_context_left", "out of range");
  if (!positive(c.conv_kernel_size)) return bad("conf_conv_kernel_size", "must be positive");
  if (!positive(c.reduction_factor)) return bad("conf_reduction_factor", "must be positive");
  if (!(c.logit_cap > 0)) return bad("conf_attention_logit_cap", "must be positive");
  for (int i = 0; i < 2; ++i) {
    if (!positive(c.sscp_channels[i])) return bad("sscp_conv_channel_size", "must be positive");
    for (int k = 0; k < 2; ++k)
      if (!positive(c.sscp_kernel[i][k]) || !positive(c.sscp_stride[i][k]))
        return bad("sscp_conv_kernel_size", "kernel and stride must be positive");
  }
  if (!positive(c.vocab_size) || c.vocab_offset < 0) return bad("vocab_size", "out of range");
  return ok_status();
}

}  // namespace

#define GS_AUDIO_TRY(expr)            \
  do {                                \
    auto _s = (expr);                 \
    if (!_s.ok()) return _s.error();  \
  } while (0)

Expected<AudioConfig> parse_audio_config(const std::string& json_text) {
  AudioConfig c;
  if (json_text.empty()) return c;
  json j = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return make_error(ErrorCode::kCorruptFile, "audio_config is not a JSON object");
  GS_AUDIO_TRY(read_num(j, "input_feat_size", &c.input_feat_size));
  GS_AUDIO_TRY(read_num(j, "hidden_size", &c.hidden_size));
  GS_AUDIO_TRY(read_num(j, "conf_num_hidden_layers", &c.num_layers));
  GS_AUDIO_TRY(read_num(j, "conf_num_attention_heads", &c.num_heads));
  GS_AUDIO_TRY(read_num(j, "conf_attention_chunk_size", &c.chunk_size));
  GS_AUDIO_TRY(read_num(j, "conf_attention_context_left", &c.context_left));
  GS_AUDIO_TRY(read_num(j, "conf_attention_context_right", &c.context_right));
  GS_AUDIO_TRY(read_num(j, "conf_attention_logit_cap", &c.logit_cap));
  GS_AUDIO_TRY(read_num(j, "conf_conv_kernel_size", &c.conv_kernel_size));
  GS_AUDIO_TRY(read_num(j, "conf_reduction_factor", &c.reduction_factor));
  GS_AUDIO_TRY(read_num(j, "conf_residual_weight", &c.residual_weight));
  GS_AUDIO_TRY(read_num(j, "gradient_clipping", &c.gradient_clipping));
  GS_AUDIO_TRY(read_num(j, "rms_norm_eps", &c.rms_norm_eps));
  GS_AUDIO_TRY(read_num(j, "sscp_conv_group_norm_eps", &c.sscp_group_norm_eps));
  GS_AUDIO_TRY(read_num(j, "vocab_offset", &c.vocab_offset));
  GS_AUDIO_TRY(read_num(j, "vocab_size", &c.vocab_size));
  if (auto it = j.find("sscp_conv_channel_size"); it != j.end() && !it->is_null()) {
    if (!it->is_array() || it->size() != 2 || !small_int((*it)[0]) || !small_int((*it)[1]))
      return bad("sscp_conv_channel_size", "expected two integers");
    c.sscp_channels = {(*it)[0].get<int>(), (*it)[1].get<int>()};
  }
  GS_AUDIO_TRY(read_pair_list(j, "sscp_conv_kernel_size", &c.sscp_kernel));
  GS_AUDIO_TRY(read_pair_list(j, "sscp_conv_stride_size", &c.sscp_stride));
  GS_AUDIO_TRY(validate(c));
  return c;
}

}  // namespace gs::runtime::gemma3n
