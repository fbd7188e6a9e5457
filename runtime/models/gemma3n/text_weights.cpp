#include "runtime/models/gemma3n/text_weights.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "runtime/kernels/q4_interleave.h"
#include "runtime/kernels/quant.h"
#include "runtime/weights/convert_cache.h"
#include "runtime/weights/convert_cache_prune.h"

namespace gs::runtime::gemma3n {
namespace {

std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

// How a matrix is read, which decides its storage.
enum class Use {
  kProduct,  // whole-matrix products: kQ4 rows interleaved in groups of 8 when the layout asks
  kExact,    // the small steering matrices: never rounded (see Binder::mat)
  kRowGather,  // read one row at a time (the sparse FFN's up_proj): plain rows
};

// Looks tensors up by name, checks their shapes against the config, converts and keeps them.
class Binder {
 public:
  Binder(const WeightStore& ws, TextWeights* tw, WeightFormat format, int32_t q4_row_group)
      : ws_(ws), tw_(tw), format_(format), q4_row_group_(q4_row_group) {}
  // Converted matrices come from `reader` when it has them; new conversions go to `writer`.
  void set_cache(const ConvertCacheReader* reader, ConvertCacheWriter* writer) {
    reader_ = reader;
    writer_ = writer;
  }

  // `resident`: the tensor will be read whole now (prefetch it); else it stays mapped (PLE).
  Expected<const TensorRef*> get(const std::string& name, std::vector<int64_t> shape, bool resident = true) {
    const TensorRef* t = ws_.find(name);
    if (!t) return make_error(ErrorCode::kNotFound, "missing required tensor " + name);
    if (t->shape != shape)
      return make_error(ErrorCode::kCorruptFile,
                        "tensor " + name + " has shape " + shape_str(t->shape) + ", config implies " + shape_str(shape));
    tw_->params_core += t->numel();
    if (resident) t->prefetch();
    return t;
  }
  // `exact`: the small matrices that steer every stream (AltUp router, LAuReL) are not rounded:
  // they keep the checkpoint's bf16 when it ships bf16 (widening them to f32 only doubled their
  // share of every decode step's reads, 30 MB per E2B token), else float32.
  Status mat(const std::string& name, int64_t rows, int64_t cols, WeightView* out, Use use = Use::kProduct) {
    WeightFormat f = format_;
    const bool exact = use == Use::kExact;
    if (exact) {
      const TensorRef* src = ws_.find(name);
      f = src && src->dtype == DType::kBF16 && format_ != WeightFormat::kF32 ? WeightFormat::kBF16 : WeightFormat::kF32;
    }
    const int32_t group = q4_row_group_for(f, rows, cols, use == Use::kProduct ? q4_row_group_ : 1);
    const WeightView* cached = reader_ && !exact ? reader_->find(name, f, rows, cols, group) : nullptr;
    if (reader_ && !exact && !cached) ++cache_misses_;
    auto t = get(name, {rows, cols}, /*resident=*/cached == nullptr);
    if (!t.ok()) return t.error();
    if (cached) {
      *out = *cached;
      tw_->resident_bytes += cached->bytes();
      return ok_status();
    }
    tw_->storage.push_back(OwnedWeight::from_tensor(**t, f, group));
    drop(**t);
    tw_->resident_bytes += tw_->storage.back().bytes();
    *out = tw_->storage.back().view();
    if (writer_ && !exact) {
      if (auto st = writer_->add(name, *out); !st.ok()) {
        spdlog::warn("convert cache disabled: {}", st.error().message);
        writer_ = nullptr;
        write_failed_ = true;
      }
    }
    return ok_status();
  }
  bool write_failed() const { return write_failed_; }
  int cache_misses() const { return cache_misses_; }
  // A [rows, cols] checkpoint matrix stored transposed as [cols, rows] (cached as "<name>.T").
  Status mat_transposed(const std::string& name, int64_t rows, int64_t cols, WeightView* out) {
    const std::string key = name + ".T";
    const WeightView* cached = reader_ ? reader_->find(key, format_, cols, rows) : nullptr;
    if (reader_ && !cached) ++cache_misses_;
    auto t = get(name, {rows, cols}, /*resident=*/cached == nullptr);
    if (!t.ok()) return t.error();
    if (cached) {
      *out = *cached;
      tw_->resident_bytes += cached->bytes();
      return ok_status();
    }
    const std::vector<float> w = (*t)->to_f32();
    drop(**t);
    std::vector<float> wt(w.size());
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) wt[static_cast<size_t>(c * rows + r)] = w[static_cast<size_t>(r * cols + c)];
    tw_->storage.push_back(OwnedWeight::from_f32(wt.data(), cols, rows, format_));
    tw_->resident_bytes += tw_->storage.back().bytes();
    *out = tw_->storage.back().view();
    if (writer_) {
      if (auto st = writer_->add(key, *out); !st.ok()) {
        spdlog::warn("convert cache disabled: {}", st.error().message);
        writer_ = nullptr;
        write_failed_ = true;
      }
    }
    return ok_status();
  }
  // A [rows, cols] checkpoint matrix stored as column panels [bounds[k], bounds[k + 1]), each
  // cached as "<name>.cols<a>-<b>".
  Status mat_panels(const std::string& name, int64_t rows, int64_t cols, const std::vector<int64_t>& bounds,
                    std::vector<ColumnPanel>* out) {
    std::vector<const WeightView*> cached;
    bool all_cached = reader_ != nullptr;
    auto group_of = [&](size_t k) { return q4_row_group_for(format_, rows, bounds[k + 1] - bounds[k], q4_row_group_); };
    for (size_t k = 0; k + 1 < bounds.size(); ++k) {
      const WeightView* c = reader_ ? reader_->find(panel_key(name, bounds[k], bounds[k + 1]), format_, rows,
                                                    bounds[k + 1] - bounds[k], group_of(k))
                                    : nullptr;
      if (reader_ && !c) ++cache_misses_;
      all_cached = all_cached && c;
      cached.push_back(c);
    }
    auto t = get(name, {rows, cols}, /*resident=*/!all_cached);
    if (!t.ok()) return t.error();
    std::vector<float> w;
    if (!all_cached) {
      w = (*t)->to_f32();
      drop(**t);
    }
    for (size_t k = 0; k + 1 < bounds.size(); ++k) {
      const int64_t c0 = bounds[k], pc = bounds[k + 1] - c0;
      if (cached[k]) {
        out->push_back({c0, *cached[k]});
        tw_->resident_bytes += cached[k]->bytes();
        continue;
      }
      std::vector<float> panel(static_cast<size_t>(rows * pc));
      for (int64_t r = 0; r < rows; ++r)
        std::copy_n(&w[static_cast<size_t>(r * cols + c0)], pc, &panel[static_cast<size_t>(r * pc)]);
      tw_->storage.push_back(OwnedWeight::from_f32(panel.data(), rows, pc, format_, group_of(k)));
      tw_->resident_bytes += tw_->storage.back().bytes();
      out->push_back({c0, tw_->storage.back().view()});
      add_to_cache(panel_key(name, c0, bounds[k + 1]), out->back().w);
    }
    return ok_status();
  }
  Status vec(const std::string& name, std::vector<int64_t> shape, std::vector<float>* out) {
    auto t = get(name, std::move(shape));
    if (!t.ok()) return t.error();
    *out = (*t)->to_f32();
    drop(**t);
    tw_->resident_bytes += out->size() * 4;
    return ok_status();
  }

 private:
  static std::string panel_key(const std::string& name, int64_t c0, int64_t c1) {
    return name + ".cols" + std::to_string(c0) + "-" + std::to_string(c1);
  }
  void add_to_cache(const std::string& key, const WeightView& w) {
    if (!writer_) return;
    if (auto st = writer_->add(key, w); !st.ok()) {
      spdlog::warn("convert cache disabled: {}", st.error().message);
      writer_ = nullptr;
      write_failed_ = true;
    }
  }
  // The converted copy is resident now: give the mapped pages back right away, so the peak RSS
  // of loading is the converted model plus one tensor, not twice the model.
  static void drop(const TensorRef& t) {
    if (t.file) t.file->drop_pages(t.file_offset, t.nbytes);
  }
  const WeightStore& ws_;
  TextWeights* tw_;
  WeightFormat format_;
  int32_t q4_row_group_;  // 8: kQ4 products interleave their rows (WeightLayout::q4_row_groups)
  const ConvertCacheReader* reader_ = nullptr;
  ConvertCacheWriter* writer_ = nullptr;
  bool write_failed_ = false;
  int cache_misses_ = 0;
};

// Opens the cache file for this checkpoint and format, or a writer to create it. Only the
// block-quantized formats are cached: bf16/f32 conversion is a copy, as fast as reading a cache.
struct CacheSetup {
  std::unique_ptr<ConvertCacheReader> reader;
  std::unique_ptr<ConvertCacheWriter> writer;
  std::string path;
};

// "" for the plain default layout; else what differs ("dense", "p8192", "dense-p8192-r8").
std::string layout_tag(const WeightLayout& layout, WeightFormat format) {
  std::string tag = layout.sparse_ffn ? "" : "dense";
  auto part = [&](const std::string& p) { tag += (tag.empty() ? "" : "-") + p; };
  if (!layout.ffn_panel_widths.empty()) {
    std::string p = "p";
    for (size_t i = 0; i < layout.ffn_panel_widths.size(); ++i)
      p += (i ? "_" : "") + std::to_string(layout.ffn_panel_widths[i]);
    part(p);
  }
  if (layout.q4_row_groups && format == WeightFormat::kQ4) part("r8");
  return tag;
}

CacheSetup open_convert_cache(const WeightStore& ws, WeightFormat format, const std::string& dir,
                              const WeightLayout& layout) {
  CacheSetup c;
  if (dir.empty() || !is_block_quantized(format)) return c;
  c.path = convert_cache_path(dir, checkpoint_fingerprint(ws), format, layout_tag(layout, format));
  auto r = ConvertCacheReader::open(c.path);
  if (r.ok()) {
    c.reader = std::move(r).value();
    touch_convert_cache(c.path);  // least recently used goes first when the directory is pruned
    return c;
  }
  if (r.error().code != ErrorCode::kNotFound) spdlog::warn("ignoring convert cache: {}", r.error().message);
  auto w = ConvertCacheWriter::create(c.path);
  if (w.ok()) c.writer = std::move(w).value();
  else spdlog::warn("convert cache off: {}", w.error().message);
  return c;
}

#define GS_TRY(expr)                   \
  do {                                 \
    auto _st = (expr);                 \
    if (!_st.ok()) return _st.error(); \
  } while (0)

// Column bounds of the down_proj panels of a layer of width F: 0, the panel widths below F, F.
std::vector<int64_t> panel_bounds(const std::vector<int64_t>& widths, int64_t F) {
  std::vector<int64_t> b{0};
  for (int64_t w : widths)
    if (w > b.back() && w < F) b.push_back(w);
  b.push_back(F);
  return b;
}

Status bind_layer(Binder& b, const std::string& p, const TextConfig& c, int l, const WeightLayout& layout,
                  LayerWeights* w) {
  const int64_t D = c.hidden_size, hd = c.head_dim, H = c.num_attention_heads, KV = c.num_key_value_heads;
  const int64_t F = c.intermediate_size[l], N = c.altup_num_inputs, r = c.laurel_rank, P = c.hidden_size_per_layer_input;
  GS_TRY(b.mat(p + "self_attn.q_proj.weight", H * hd, D, &w->q_proj));
  GS_TRY(b.mat(p + "self_attn.o_proj.weight", D, H * hd, &w->o_proj));
  GS_TRY(b.vec(p + "self_attn.q_norm.weight", {hd}, &w->q_norm));
  // KV-consumer layers carry k/v weights in the checkpoint that inference never reads: skip them.
  w->has_kv_proj = c.kv_source_layer(l) < 0;
  if (w->has_kv_proj) {
    GS_TRY(b.mat(p + "self_attn.k_proj.weight", KV * hd, D, &w->k_proj));
    GS_TRY(b.mat(p + "self_attn.v_proj.weight", KV * hd, D, &w->v_proj));
    GS_TRY(b.vec(p + "self_attn.k_norm.weight", {hd}, &w->k_norm));
  }
  GS_TRY(b.mat(p + "mlp.gate_proj.weight", F, D, &w->gate_proj));
  const bool gathered = layout.sparse_ffn && c.activation_sparsity[l] > 0.f;  // see mlp_sparse
  GS_TRY(b.mat(p + "mlp.up_proj.weight", F, D, &w->up_proj, gathered ? Use::kRowGather : Use::kProduct));
  const std::string down = p + "mlp.down_proj.weight";
  if (gathered) {
    GS_TRY(b.mat_transposed(down, D, F, &w->down_proj_t));
  } else if (const auto bounds = panel_bounds(layout.ffn_panel_widths, F); bounds.size() > 2) {
    GS_TRY(b.mat_panels(down, D, F, bounds, &w->down_proj));
  } else {
    w->down_proj.emplace_back();
    GS_TRY(b.mat(down, D, F, &w->down_proj.back().w));
  }
  GS_TRY(b.vec(p + "input_layernorm.weight", {D}, &w->input_layernorm));
  GS_TRY(b.vec(p + "post_attention_layernorm.weight", {D}, &w->post_attention_layernorm));
  GS_TRY(b.vec(p + "pre_feedforward_layernorm.weight", {D}, &w->pre_feedforward_layernorm));
  GS_TRY(b.vec(p + "post_feedforward_layernorm.weight", {D}, &w->post_feedforward_layernorm));
  GS_TRY(b.vec(p + "altup.correct_output_scale", {D}, &w->correct_output_scale));
  GS_TRY(b.vec(p + "altup.correction_coefs.weight", {N, N}, &w->correction_coefs));
  GS_TRY(b.vec(p + "altup.prediction_coefs.weight", {N * N, N}, &w->prediction_coefs));
  GS_TRY(b.mat(p + "altup.modality_router.weight", N, D, &w->modality_router, Use::kExact));
  GS_TRY(b.vec(p + "altup.router_norm.weight", {D}, &w->router_norm));
  GS_TRY(b.mat(p + "laurel.linear_left.weight", r, D, &w->laurel_left, Use::kExact));
  GS_TRY(b.mat(p + "laurel.linear_right.weight", D, r, &w->laurel_right, Use::kExact));
  GS_TRY(b.vec(p + "laurel.post_laurel_norm.weight", {D}, &w->post_laurel_norm));
  GS_TRY(b.mat(p + "per_layer_input_gate.weight", P, D, &w->per_layer_input_gate));
  GS_TRY(b.mat(p + "per_layer_projection.weight", D, P, &w->per_layer_projection));
  GS_TRY(b.vec(p + "post_per_layer_input_norm.weight", {D}, &w->post_per_layer_input_norm));
  return ok_status();
}

Status bind_mm_embedder(Binder& b, const WeightStore& ws, const std::string& p, int offset, int vocab, int64_t D,
                        MultimodalEmbedderWeights* e) {
  const TensorRef* emb = ws.find(p + "embedding.weight");
  if (!emb) return ok_status();  // text-only checkpoints
  if (emb->shape.size() != 2) return make_error(ErrorCode::kCorruptFile, p + "embedding.weight must be 2-D");
  e->present = true;
  e->vocab_offset = offset;
  e->vocab_size = vocab;
  e->in_dim = static_cast<int>(emb->shape[1]);
  const int64_t in = e->in_dim;
  GS_TRY(b.vec(p + "embedding.weight", {vocab, in}, &e->embedding));
  GS_TRY(b.vec(p + "hard_embedding_norm.weight", {in}, &e->hard_norm));
  GS_TRY(b.vec(p + "soft_embedding_norm.weight", {in}, &e->soft_norm));
  return b.mat(p + "embedding_projection.weight", D, in, &e->projection);
}

}  // namespace

std::string text_prefix(const WeightStore& ws) {
  return ws.find("model.language_model.embed_tokens.weight") ? "model.language_model." : "model.";
}

Expected<std::unique_ptr<TextWeights>> load_text_weights(const WeightStore& ws, const Gemma3nConfig& cfg,
                                                        WeightFormat format, const ComputeContext& ctx,
                                                        const PleOptions& ple_opt, const std::string& cache_dir,
                                                        const WeightLayout& layout) {
  (void)ctx;
  const TextConfig& c = cfg.text;
  auto tw = std::make_unique<TextWeights>();
  Binder b(ws, tw.get(), format, layout.q4_row_groups ? kQ4RowGroup : 1);
  for (size_t i = 1; i < layout.ffn_panel_widths.size(); ++i)
    if (layout.ffn_panel_widths[i] <= layout.ffn_panel_widths[i - 1])
      return make_error(ErrorCode::kInvalidArgument, "FFN panel widths must ascend");
  for (int64_t pw : layout.ffn_panel_widths)
    if (pw <= 0 || pw % block_cols(format) != 0)
      return make_error(ErrorCode::kInvalidArgument, "FFN panel width " + std::to_string(pw) +
                                                         " is not a whole number of weight blocks");
  CacheSetup cache = open_convert_cache(ws, format, cache_dir, layout);
  b.set_cache(cache.reader.get(), cache.writer.get());
  const std::string p = text_prefix(ws);
  const int64_t D = c.hidden_size, L = c.num_hidden_layers, P = c.hidden_size_per_layer_input;
  GS_TRY(b.mat(p + "embed_tokens.weight", c.vocab_size, D, &tw->embed_tokens));
  GS_TRY(b.mat(p + "per_layer_model_projection.weight", L * P, D, &tw->per_layer_model_projection));
  GS_TRY(b.vec(p + "per_layer_projection_norm.weight", {P}, &tw->per_layer_projection_norm));
  GS_TRY(b.vec(p + "norm.weight", {D}, &tw->final_norm));
  tw->altup_projections.resize(c.altup_num_inputs - 1);
  tw->altup_unembed_projections.resize(c.altup_num_inputs - 1);
  for (int i = 0; i + 1 < c.altup_num_inputs; ++i) {
    GS_TRY(b.mat(p + "altup_projections." + std::to_string(i) + ".weight", D, D, &tw->altup_projections[i]));
    GS_TRY(b.mat(p + "altup_unembed_projections." + std::to_string(i) + ".weight", D, D,
                 &tw->altup_unembed_projections[i]));
  }
  tw->layers.resize(L);
  for (int l = 0; l < L; ++l)
    GS_TRY(bind_layer(b, p + "layers." + std::to_string(l) + ".", c, l, layout, &tw->layers[l]));

  auto ple = b.get(p + "embed_tokens_per_layer.weight", {c.vocab_size_per_layer_input, L * P}, false);
  if (!ple.ok()) return ple.error();
  tw->params_core -= (*ple)->numel();  // counted in its own group
  tw->ple = std::make_unique<PleTable>(**ple, static_cast<int>(L), static_cast<int>(P), ple_opt);

  GS_TRY(bind_mm_embedder(b, ws, "model.embed_vision.", cfg.vision_vocab_offset, cfg.vision_vocab_size, D,
                          &tw->embed_vision));
  GS_TRY(bind_mm_embedder(b, ws, "model.embed_audio.", cfg.audio_vocab_offset, cfg.audio_vocab_size, D,
                          &tw->embed_audio));
  // The converted copies are resident now; give the mapped pages of the text core back.
  ws.drop_pages_with_prefix(p);
  if (cache.reader) {
    spdlog::info("converted weights from cache {} ({} bytes)", cache.path, cache.reader->size());
    if (b.cache_misses() > 0)
      spdlog::warn("convert cache {} lacks {} matrices (converted now); delete it to rebuild", cache.path,
                   b.cache_misses());
    tw->convert_cache = std::move(cache.reader);
    tw->from_convert_cache = true;
  } else if (cache.writer && !b.write_failed()) {
    if (auto st = cache.writer->commit(); st.ok()) {
      spdlog::info("converted weights cached in {}", cache.path);
      const PruneReport pr = prune_convert_cache(cache_dir, cache.path, kConvertCacheMaxBytes);
      if (pr.removed > 0)
        spdlog::info("convert cache: removed {} least recently used files ({} bytes) to stay under {} GiB", pr.removed,
                     pr.removed_bytes, kConvertCacheMaxBytes >> 30);
    } else {
      spdlog::warn("convert cache not written: {}", st.error().message);
    }
  }
  return tw;
}

}  // namespace gs::runtime::gemma3n
