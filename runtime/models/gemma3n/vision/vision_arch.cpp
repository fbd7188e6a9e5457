#include "runtime/models/gemma3n/vision/vision_arch.h"

#include <nlohmann/json.hpp>

namespace gs::runtime::gemma3n::vision {
namespace {

using nlohmann::json;

BlockSpec er(int out, int stride) {
  BlockSpec b;
  b.kind = BlockKind::kEdgeResidual;
  b.out_chs = out, b.stride = stride, b.exp_ratio = 4.0, b.exp_kernel = 3;
  return b;
}
BlockSpec uir(int out, int start, int mid, int stride, double e) {
  BlockSpec b;
  b.kind = BlockKind::kUniversalInvertedResidual;
  b.out_chs = out, b.dw_start = start, b.dw_mid = mid, b.stride = stride, b.exp_ratio = e;
  return b;
}
BlockSpec mqa(int out, int heads, int dim, int kv_stride) {
  BlockSpec b;
  b.kind = BlockKind::kMultiQueryAttention;
  b.out_chs = out, b.num_heads = heads, b.key_dim = dim, b.value_dim = dim, b.kv_stride = kv_stride;
  b.kv_kernel = 3;
  return b;
}

Error arch_error(const std::string& what) {
  return make_error(ErrorCode::kInvalidArgument, "vision_config: " + what);
}

// Reads an optional number; a present non-number is an error.
template <typename T>
Status get(const json& j, const char* key, T* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return ok_status();
  if constexpr (std::is_same_v<T, bool>) {
    if (!it->is_boolean()) return arch_error(std::string(key) + " must be a boolean");
  } else if (!it->is_number()) {
    return arch_error(std::string(key) + " must be a number");
  }
  *out = it->get<T>();
  return ok_status();
}

#define GS_VTRY(expr)                  \
  do {                                 \
    auto _st = (expr);                 \
    if (!_st.ok()) return _st.error(); \
  } while (0)

Expected<BlockSpec> parse_block(const json& j) {
  if (!j.is_object() || !j.contains("block_type") || !j["block_type"].is_string())
    return arch_error("block_args entries need a string block_type");
  const std::string type = j["block_type"].get<std::string>();
  BlockSpec b;
  if (type == "er") {
    b.kind = BlockKind::kEdgeResidual;
    GS_VTRY(get(j, "exp_kernel_size", &b.exp_kernel));
    GS_VTRY(get(j, "force_in_chs", &b.force_in_chs));
  } else if (type == "uir") {
    b.kind = BlockKind::kUniversalInvertedResidual;
    GS_VTRY(get(j, "dw_kernel_size_start", &b.dw_start));
    GS_VTRY(get(j, "dw_kernel_size_mid", &b.dw_mid));
    GS_VTRY(get(j, "dw_kernel_size_end", &b.dw_end));
  } else if (type == "mqa") {
    b.kind = BlockKind::kMultiQueryAttention;
    GS_VTRY(get(j, "num_heads", &b.num_heads));
    GS_VTRY(get(j, "key_dim", &b.key_dim));
    GS_VTRY(get(j, "value_dim", &b.value_dim));
    GS_VTRY(get(j, "kv_stride", &b.kv_stride));
    GS_VTRY(get(j, "dw_kernel_size", &b.kv_kernel));
  } else {
    return arch_error("unsupported block_type '" + type + "'");
  }
  GS_VTRY(get(j, "out_chs", &b.out_chs));
  GS_VTRY(get(j, "stride", &b.stride));
  GS_VTRY(get(j, "exp_ratio", &b.exp_ratio));
  GS_VTRY(get(j, "noskip", &b.noskip));
  const bool bad_kernel = b.exp_kernel < 1 || b.exp_kernel > 15 || b.dw_start < 0 || b.dw_start > 15 ||
                          b.dw_mid < 0 || b.dw_mid > 15 || b.kv_kernel < 1 || b.kv_kernel > 15;
  if (b.out_chs <= 0 || b.out_chs > 65536 || (b.stride != 1 && b.stride != 2) || bad_kernel ||
      !(b.exp_ratio > 0 && b.exp_ratio <= 64))
    return arch_error("block '" + type + "' has out-of-range sizes");
  if (b.dw_end != 0) return arch_error("uir dw_kernel_size_end is not supported");
  if (b.kind == BlockKind::kMultiQueryAttention &&
      (b.num_heads <= 0 || b.key_dim <= 0 || b.value_dim <= 0 || (b.kv_stride != 1 && b.kv_stride != 2) ||
       b.stride != 1))
    return arch_error("mqa block has invalid heads / dims / strides");
  return b;
}

Expected<std::vector<std::vector<BlockSpec>>> parse_block_args(const json& args) {
  if (!args.is_array() || args.empty()) return arch_error("model_args.block_args must be a non-empty list");
  std::vector<std::vector<BlockSpec>> stages;
  for (const auto& stage : args) {
    if (!stage.is_array() || stage.empty()) return arch_error("every block_args stage must be a non-empty list");
    stages.emplace_back();
    for (const auto& bj : stage) {
      auto b = parse_block(bj);
      if (!b) return b.error();
      stages.back().push_back(*b);
    }
  }
  return stages;
}

}  // namespace

int make_divisible(double v, int divisor) {
  int nv = std::max(divisor, static_cast<int>(v + divisor / 2.0) / divisor * divisor);
  if (nv < 0.9 * v) nv += divisor;
  return nv;
}

std::vector<std::vector<BlockSpec>> mobilenetv5_300m_stages() {
  std::vector<std::vector<BlockSpec>> s(4);
  s[0] = {er(128, 2), er(128, 1), er(128, 1)};
  s[1] = {uir(256, 3, 5, 2, 6), uir(256, 5, 0, 1, 4), uir(256, 3, 0, 1, 4), uir(256, 5, 0, 1, 4),
          uir(256, 3, 0, 1, 4)};
  s[2].push_back(uir(640, 5, 5, 2, 6));
  for (int i = 0; i < 7; ++i) s[2].push_back(uir(640, 5, 0, 1, 4));
  s[2].push_back(uir(640, 0, 0, 1, 1));
  for (int i = 0; i < 14; ++i) {
    s[2].push_back(mqa(640, 12, 64, 2));
    s[2].push_back(uir(640, 0, 0, 1, 2));
  }
  s[3].push_back(uir(1280, 5, 5, 2, 6));
  for (int i = 0; i < 19; ++i) {
    s[3].push_back(mqa(1280, 16, 96, 1));
    s[3].push_back(uir(1280, 0, 0, 1, 2));
  }
  return s;
}

Expected<VisionArch> parse_vision_arch(const std::string& text) {
  VisionArch a;
  a.stages = mobilenetv5_300m_stages();
  if (text.empty()) return a;
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return arch_error("not a JSON object");
  GS_VTRY(get(j, "hidden_size", &a.hidden_size));
  GS_VTRY(get(j, "rms_norm_eps", &a.rms_norm_eps));
  GS_VTRY(get(j, "vocab_offset", &a.vocab_offset));
  GS_VTRY(get(j, "vocab_size", &a.vocab_size));
  if (auto ma = j.find("model_args"); ma != j.end() && !ma->is_null()) {
    if (!ma->is_object()) return arch_error("model_args must be an object or null");
    GS_VTRY(get(*ma, "stem_size", &a.stem_size));
    GS_VTRY(get(*ma, "msfa_output_resolution", &a.msfa_output_resolution));
    if (auto ba = ma->find("block_args"); ba != ma->end() && !ba->is_null()) {
      auto st = parse_block_args(*ba);
      if (!st) return st.error();
      a.stages = std::move(*st);
    }
  }
  if (a.stages.size() < 2) return arch_error("need at least two stages (the MSFA fuses the last two)");
  if (a.stem_size <= 0 || a.stem_size > 4096 || a.msfa_output_resolution <= 0 ||
      a.msfa_output_resolution > 1024 || a.hidden_size <= 0 || !(a.rms_norm_eps > 0) || a.vocab_size <= 0)
    return arch_error("stem_size / msfa_output_resolution / hidden_size / rms_norm_eps out of range");
  return a;
}

}  // namespace gs::runtime::gemma3n::vision
