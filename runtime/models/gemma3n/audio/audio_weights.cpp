#include "runtime/models/gemma3n/audio/audio_weights.h"

#include <initializer_list>

namespace gs::runtime::gemma3n {
namespace {

// Loads tensors by name below a prefix and checks their shapes; the first failure is kept.
class Loader {
 public:
  Loader(const WeightStore& store, std::string prefix, WeightFormat format)
      : store_(store), prefix_(std::move(prefix)), format_(format) {}

  std::vector<float> vec(const std::string& name, std::initializer_list<int64_t> shape) {
    const TensorRef* t = get(name, shape);
    return t ? t->to_f32() : std::vector<float>{};
  }
  OwnedWeight mat(const std::string& name, std::initializer_list<int64_t> shape) {
    const TensorRef* t = get(name, shape);
    if (!t) return OwnedWeight{};
    if (t->shape.size() == 2) {
      OwnedWeight w = OwnedWeight::from_tensor(*t, format_);
      // The converted copy is what we use: give the mapped pages back now, so peak RSS during
      // loading stays near the converted size instead of twice it.
      store_.drop_pages_with_prefix(t->name);
      return w;
    }
    // Conv kernels [out, in, k…] flattened to [out, in·k…]; TensorRef::rows_to_f32 (used by
    // from_tensor) assumes a 2-D tensor, so widen the (small) kernel whole.
    const std::vector<float> f = t->to_f32();
    return OwnedWeight::from_f32(f.data(), t->shape[0], t->numel() / t->shape[0], format_);
  }
  bool failed() const { return failed_; }
  const Error& error() const { return error_; }

 private:
  const TensorRef* get(const std::string& name, std::initializer_list<int64_t> shape) {
    if (failed_) return nullptr;
    const std::string full = prefix_ + name;
    const TensorRef* t = store_.find(full);
    if (!t) return fail(ErrorCode::kNotFound, "missing tensor " + full);
    if (t->shape != std::vector<int64_t>(shape)) {
      std::string want, got;
      for (auto d : shape) want += std::to_string(d) + ",";
      for (auto d : t->shape) got += std::to_string(d) + ",";
      return fail(ErrorCode::kCorruptFile, "tensor " + full + " has shape [" + got + "], expected [" + want + "]");
    }
    return t;
  }
  const TensorRef* fail(ErrorCode code, std::string msg) {
    failed_ = true;
    error_ = make_error(code, std::move(msg));
    return nullptr;
  }

  const WeightStore& store_;
  std::string prefix_;
  WeightFormat format_;
  bool failed_ = false;
  Error error_;
};

SscpWeights load_sscp(Loader& l, const AudioConfig& c) {
  const int c0 = c.sscp_channels[0], c1 = c.sscp_channels[1];
  const auto& k = c.sscp_kernel;
  // Frequency size after the two convs (padding 1 left + 1 right, as upstream).
  int f = c.input_feat_size;
  for (int i = 0; i < 2; ++i) f = (f + 2 - k[i][1]) / c.sscp_stride[i][1] + 1;
  const std::string p = "subsample_conv_projection.";
  SscpWeights w;
  w.conv0 = l.mat(p + "conv_0.conv.weight", {c0, 1, k[0][0], k[0][1]});
  w.norm0 = l.vec(p + "conv_0.norm.weight", {c0});
  w.conv1 = l.mat(p + "conv_1.conv.weight", {c1, c0, k[1][0], k[1][1]});
  w.norm1 = l.vec(p + "conv_1.norm.weight", {c1});
  w.input_proj = l.mat(p + "input_proj_linear.weight", {c.hidden_size, int64_t{f} * c1});
  return w;
}

FfwWeights load_ffw(Loader& l, const std::string& p, int64_t d) {
  FfwWeights w;
  w.pre_norm = l.vec(p + "pre_layer_norm.weight", {d});
  w.w1 = l.mat(p + "ffw_layer_1.weight", {4 * d, d});
  w.w2 = l.mat(p + "ffw_layer_2.weight", {d, 4 * d});
  w.post_norm = l.vec(p + "post_layer_norm.weight", {d});
  return w;
}

ConformerWeights load_block(Loader& l, const AudioConfig& c, int i) {
  const std::string p = "conformer." + std::to_string(i) + ".";
  const int64_t d = c.hidden_size;
  ConformerWeights w;
  w.ffw_start = load_ffw(l, p + "ffw_layer_start.", d);
  const std::string a = p + "attention.";
  w.attn.pre_norm = l.vec(a + "pre_attn_norm.weight", {d});
  w.attn.per_dim_scale = l.vec(a + "attn.per_dim_scale", {c.head_dim()});
  w.attn.pos_proj = l.mat(a + "attn.relative_position_embedding.pos_proj.weight", {d, d});
  w.attn.q = l.mat(a + "attn.q_proj.weight", {d, d});
  w.attn.k = l.mat(a + "attn.k_proj.weight", {d, d});
  w.attn.v = l.mat(a + "attn.v_proj.weight", {d, d});
  w.attn.post = l.mat(a + "post.weight", {d, d});
  w.attn.post_norm = l.vec(a + "post_norm.weight", {d});
  const std::string lc = p + "lconv1d.";
  w.lconv.pre_norm = l.vec(lc + "pre_layer_norm.weight", {d});
  w.lconv.linear_start = l.mat(lc + "linear_start.weight", {2 * d, d});
  w.lconv.depthwise = l.vec(lc + "depthwise_conv1d.weight", {d, 1, c.conv_kernel_size});
  w.lconv.conv_norm = l.vec(lc + "conv_norm.weight", {d});
  w.lconv.linear_end = l.mat(lc + "linear_end.weight", {d, d});
  w.ffw_end = load_ffw(l, p + "ffw_layer_end.", d);
  w.norm = l.vec(p + "norm.weight", {d});
  return w;
}

size_t vec_bytes(const std::vector<float>& v) { return v.size() * sizeof(float); }
size_t ffw_bytes(const FfwWeights& f) {
  return vec_bytes(f.pre_norm) + vec_bytes(f.post_norm) + f.w1.bytes() + f.w2.bytes();
}

}  // namespace

Expected<AudioTowerWeights> load_audio_tower_weights(const WeightStore& store, const AudioConfig& cfg,
                                                     WeightFormat format) {
  Loader l(store, kAudioTowerPrefix, format);
  AudioTowerWeights w;
  w.sscp = load_sscp(l, cfg);
  for (int i = 0; i < cfg.num_layers && !l.failed(); ++i) w.blocks.push_back(load_block(l, cfg, i));
  if (l.failed()) return l.error();
  return w;
}

Expected<AudioEmbedderWeights> load_audio_embedder_weights(const WeightStore& store, const AudioConfig& cfg,
                                                           int text_hidden, WeightFormat format) {
  Loader l(store, kEmbedAudioPrefix, format);
  const int64_t d = cfg.hidden_size;
  AudioEmbedderWeights w;
  w.embedding = l.vec("embedding.weight", {cfg.vocab_size, d});
  w.hard_norm = l.vec("hard_embedding_norm.weight", {d});
  w.soft_norm = l.vec("soft_embedding_norm.weight", {d});
  w.projection = l.mat("embedding_projection.weight", {text_hidden, d});
  if (l.failed()) return l.error();
  return w;
}

size_t resident_bytes(const AudioTowerWeights& w) {
  const SscpWeights& s = w.sscp;
  size_t n = s.conv0.bytes() + s.conv1.bytes() + vec_bytes(s.norm0) + vec_bytes(s.norm1) + s.input_proj.bytes();
  for (const ConformerWeights& b : w.blocks) {
    n += ffw_bytes(b.ffw_start) + ffw_bytes(b.ffw_end) + vec_bytes(b.norm);
    const AttentionWeights& a = b.attn;
    n += vec_bytes(a.pre_norm) + vec_bytes(a.post_norm) + vec_bytes(a.per_dim_scale);
    n += a.q.bytes() + a.k.bytes() + a.v.bytes() + a.pos_proj.bytes() + a.post.bytes();
    const LightConvWeights& c = b.lconv;
    n += vec_bytes(c.pre_norm) + vec_bytes(c.conv_norm) + vec_bytes(c.depthwise);
    n += c.linear_start.bytes() + c.linear_end.bytes();
  }
  return n;
}

size_t resident_bytes(const AudioEmbedderWeights& w) {
  return vec_bytes(w.embedding) + vec_bytes(w.hard_norm) + vec_bytes(w.soft_norm) + w.projection.bytes();
}

}  // namespace gs::runtime::gemma3n
