#include "runtime/models/gemma3n/vision/encoder.h"

#include "runtime/models/gemma3n/vision/norm_act.h"

namespace gs::runtime::gemma3n::vision {
namespace {

constexpr const char* kPrefix = "model.vision_tower.timm_model.";

Expected<Block> load_block(TensorLoader& tl, const std::string& p, const BlockSpec& s, int in) {
  switch (s.kind) {
    case BlockKind::kEdgeResidual: {
      GS_VLOAD(b, load_edge_residual(tl, p, s, in));
      return Block{std::move(b)};
    }
    case BlockKind::kUniversalInvertedResidual: {
      GS_VLOAD(b, load_uir(tl, p, s, in));
      return Block{std::move(b)};
    }
    case BlockKind::kMultiQueryAttention: {
      GS_VLOAD(b, load_mobile_attention(tl, p, s, in));
      return Block{std::move(b)};
    }
  }
  return make_error(ErrorCode::kInternal, "vision: unknown block kind");
}

}  // namespace

Expected<Encoder> load_encoder(const WeightStore& store, const VisionArch& arch, WeightFormat format) {
  TensorLoader tl(store, kPrefix, format);
  Encoder e;
  e.eps = static_cast<float>(arch.rms_norm_eps);
  const int stem = arch.stem_size;
  GS_VLOAD(sw, tl.get("conv_stem.conv.weight", {stem, 3, 3, 3}));
  GS_VLOAD(sb, tl.get("conv_stem.conv.bias", {stem}));
  GS_VLOAD(sn, tl.get("conv_stem.bn.weight", {stem}));
  e.stem = make_dense_conv(sw, stem, 3, 3, 2, std::move(sb));  // tiny: stays float32
  tl.note_matrix(e.stem.w);
  e.stem_norm = std::move(sn);
  int in = stem;
  std::vector<int> stage_chs;
  for (size_t si = 0; si < arch.stages.size(); ++si) {
    e.stages.emplace_back();
    for (size_t bi = 0; bi < arch.stages[si].size(); ++bi) {
      const BlockSpec& s = arch.stages[si][bi];
      const std::string p = "blocks." + std::to_string(si) + "." + std::to_string(bi) + ".";
      GS_VLOAD(b, load_block(tl, p, s, in));
      e.stages.back().push_back(std::move(b));
      in = s.out_chs;
    }
    stage_chs.push_back(in);
  }
  const int fused = stage_chs[stage_chs.size() - 2] + stage_chs.back();
  GS_VLOAD(m, load_msfa(tl, fused, arch.hidden_size, arch.msfa_output_resolution));
  e.msfa = std::move(m);
  e.params = tl.params_loaded();
  e.resident_bytes = tl.resident_bytes();
  return e;
}

// Shapes: [H, W, 3] -> stem [H/2, W/2, stem] -> stage s halves the grid -> MSFA [R, R, hidden].
Expected<FeatureMap> encode(const ComputeContext& ctx, const Encoder& e, const FeatureMap& pixels,
                            std::vector<FeatureMap>* stages) {
  if (pixels.c != 3 || pixels.h < 1 || pixels.w < 1)
    return make_error(ErrorCode::kInvalidArgument, "vision: encoder input must be [H, W, 3]");
  FeatureMap x = dense_conv(ctx, e.stem, pixels);
  rms_norm2d(ctx, x, e.stem_norm, e.eps, /*gelu=*/true);
  if (stages) stages->push_back(x);
  FeatureMap prev;  // output of the second-to-last stage, the MSFA's high-resolution input
  for (size_t si = 0; si < e.stages.size(); ++si) {
    for (const auto& block : e.stages[si]) {
      x = std::visit([&](const auto& b) { return forward(ctx, b, x, e.eps); }, block);
    }
    if (stages) stages->push_back(x);
    if (si + 2 == e.stages.size()) prev = x;
  }
  return forward(ctx, e.msfa, prev, x, e.eps);
}

}  // namespace gs::runtime::gemma3n::vision
