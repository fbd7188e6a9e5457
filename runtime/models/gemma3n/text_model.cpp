#include "runtime/models/gemma3n/text_model.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <set>

#include "runtime/models/gemma3n/matformer_presets.h"
#include "runtime/models/gemma3n/text_blocks.h"

namespace gs::runtime::gemma3n {
namespace {

// Every FFN width a preset of this checkpoint uses below the checkpoint's own, ascending.
std::vector<int64_t> preset_panel_widths(const TextConfig& c) {
  std::set<int64_t> widths;
  for (const auto& s : applicable_presets(c, default_presets_path())) {
    auto plan = slice_plan(c, s);
    if (!plan.ok()) continue;
    for (const auto& pl : plan->layers)
      if (pl.ffn_width < c.intermediate_size[pl.layer]) widths.insert(pl.ffn_width);
  }
  return {widths.begin(), widths.end()};
}

}  // namespace

Expected<std::unique_ptr<TextModel>> TextModel::load(const std::string& model_dir, const TextModelOptions& opt,
                                                     const ComputeContext& ctx) {
  const auto t0 = std::chrono::steady_clock::now();
  auto cfg = load_config(model_dir);
  if (!cfg.ok()) return cfg.error();
  auto store = WeightStore::open(model_dir);
  if (!store.ok()) return store.error();
  std::unique_ptr<TextModel> m(new TextModel(ctx));
  m->cfg_ = std::move(cfg).value();
  m->store_ = std::make_unique<WeightStore>(std::move(store).value());
  m->format_ = opt.format;
  if (opt.format_auto) m->format_ = m->cfg_.storage_dtype == "bfloat16" ? WeightFormat::kBF16 : WeightFormat::kF32;
  m->max_context_ = std::min(opt.max_context, m->cfg_.text.max_position_embeddings);
  WeightLayout layout;
  layout.sparse_ffn = opt.sparse_ffn;
  layout.q4_row_groups = opt.q4_row_groups;
  layout.ffn_panel_widths = opt.ffn_panel_widths ? *opt.ffn_panel_widths : preset_panel_widths(m->cfg_.text);
  auto w = load_text_weights(*m->store_, m->cfg_, m->format_, ctx, opt.ple, opt.convert_cache_dir, layout);
  if (!w.ok()) return w.error();
  m->w_ = std::move(w).value();
  m->full_plan_ = full_plan(m->cfg_.text);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  spdlog::info("text model loaded from {} in {:.2f} s: format {}, {} layers, hidden {}", model_dir, secs,
               weight_format_name(m->format_), m->cfg_.text.num_hidden_layers, m->cfg_.text.hidden_size);
  spdlog::info("group text_core: {} params, {} bytes resident", m->w_->params_core, m->w_->resident_bytes);
  spdlog::info("group ple: {} params, {} bytes mapped, {} bytes resident (hot-row cache)",
               m->w_->ple->tensor().numel(), m->w_->ple->mapped_bytes(), m->w_->ple->resident_bytes());
  return m;
}

KvLayout TextModel::kv_layout(const LayerPlan& plan) const {
  const TextConfig& c = cfg_.text;
  KvLayout k;
  k.num_layers = c.num_hidden_layers;
  k.kv_dim = c.num_key_value_heads * c.head_dim;
  k.window = c.sliding_window;
  k.max_context = max_context_;
  k.role.assign(static_cast<size_t>(c.num_hidden_layers), 0);
  for (const auto& pl : plan.layers)
    if (pl.kv_source < 0) k.role[pl.layer] = pl.type == LayerType::kSliding ? 1 : 2;
  return k;
}

std::unique_ptr<SequenceKv> TextModel::new_sequence(const LayerPlan& plan) const {
  return std::make_unique<SequenceKv>(kv_layout(plan));
}

namespace {

// Index of the first layer of the plan's trailing run of KV consumers (layers that read another
// layer's cache and write none); plan.layers.size() when the last layer produces K/V.
size_t consumer_suffix_begin(const LayerPlan& plan) {
  size_t j = plan.layers.size();
  while (j > 0 && plan.layers[j - 1].kv_source >= 0) --j;
  return j;
}

// The rows a layer runs on, as attention sees them. Segments keep addressing this step's K/V rows
// of every token (kv_row), which the producer layers computed for all rows.
struct RowSet {
  std::vector<Segment> segs;
  std::vector<int32_t> positions, row_seg;
  int64_t size() const { return static_cast<int64_t>(positions.size()); }
  int seq_of(int64_t t) const { return segs[row_seg[t]].seq; }
};

// Segments of the batch: contiguous rows of one sequence, starting at its KV length.
Expected<RowSet> batch_rows(const StepBatch& batch, std::span<SequenceKv* const> kv, int vocab) {
  RowSet r;
  r.positions = batch.positions;
  const auto T = static_cast<int64_t>(batch.tokens.size());
  for (int64_t t = 0; t < T; ++t) {
    const int s = batch.seq[t];
    if (s < 0 || static_cast<size_t>(s) >= kv.size()) return make_error(ErrorCode::kInvalidArgument, "bad seq index");
    if (r.segs.empty() || r.segs.back().seq != s) {
      r.segs.push_back({s, static_cast<int>(t), static_cast<int>(t), kv[s]->length(), static_cast<int>(t)});
      if (batch.positions[t] != kv[s]->length())
        return make_error(ErrorCode::kInvalidArgument, "step batch: positions must continue the sequence");
    } else if (batch.positions[t] != batch.positions[t - 1] + 1) {
      return make_error(ErrorCode::kInvalidArgument, "step batch: positions must be consecutive");
    }
    r.segs.back().row_end = static_cast<int>(t) + 1;
    r.row_seg.push_back(static_cast<int32_t>(r.segs.size() - 1));
    if (batch.tokens[t] < 0 || batch.tokens[t] >= vocab)
      return make_error(ErrorCode::kInvalidArgument, "token id " + std::to_string(batch.tokens[t]) + " out of range");
  }
  for (size_t i = 0; i < batch.logit_rows.size(); ++i)
    if (batch.logit_rows[i] < 0 || batch.logit_rows[i] >= T || (i > 0 && batch.logit_rows[i] <= batch.logit_rows[i - 1]))
      return make_error(ErrorCode::kInvalidArgument, "step batch: logit rows must be ascending rows of the step");
  return r;
}

// Rows `rows` (ascending) of `all`.
RowSet subset(const RowSet& all, std::span<const int32_t> rows) {
  RowSet k;
  int last_seg = -1;
  for (size_t r = 0; r < rows.size(); ++r) {
    const int32_t t = rows[r];
    if (all.row_seg[t] != last_seg) {
      last_seg = all.row_seg[t];
      Segment s = all.segs[last_seg];
      s.row_begin = static_cast<int>(r);
      k.segs.push_back(s);
    }
    k.segs.back().row_end = static_cast<int>(r) + 1;
    k.positions.push_back(all.positions[t]);
    k.row_seg.push_back(static_cast<int32_t>(k.segs.size() - 1));
  }
  return k;
}

// rows of src[T, len] (row stride `stride`) -> [R, len].
std::vector<float> gather_rows(const float* src, int64_t stride, int64_t len, std::span<const int32_t> rows) {
  std::vector<float> out(rows.size() * static_cast<size_t>(len));
  for (size_t r = 0; r < rows.size(); ++r) std::copy_n(src + rows[r] * stride, len, out.begin() + r * len);
  return out;
}

// The AltUp streams X[N, T, D] of `rows` -> [N, R, D], and back.
std::vector<float> gather_streams(const std::vector<float>& X, int64_t N, int64_t T, int64_t D,
                                  std::span<const int32_t> rows) {
  const auto R = static_cast<int64_t>(rows.size());
  std::vector<float> out(static_cast<size_t>(N * R * D));
  for (int64_t i = 0; i < N; ++i)
    for (int64_t r = 0; r < R; ++r) std::copy_n(X.begin() + (i * T + rows[r]) * D, D, out.begin() + (i * R + r) * D);
  return out;
}

void scatter_streams(const std::vector<float>& Xs, int64_t N, int64_t T, int64_t D, std::span<const int32_t> rows,
                     std::vector<float>& X) {
  const auto R = static_cast<int64_t>(rows.size());
  for (int64_t i = 0; i < N; ++i)
    for (int64_t r = 0; r < R; ++r) std::copy_n(Xs.begin() + (i * R + r) * D, D, X.begin() + (i * T + rows[r]) * D);
}

// What a step carries from layer to layer.
struct StepState {
  RowSet rows;                                       // the rows in flight
  std::vector<float> X;                              // [N, T, D] AltUp streams
  std::vector<float> pli;                            // [T, Lp, P] per-layer inputs
  std::vector<std::vector<float>> chunk_k, chunk_v;  // this step's K/V of each producer layer
};

// Keeps only `rows` (ascending) in flight: X, pli and the attention segments.
void narrow_to(StepState& st, std::span<const int32_t> rows, int64_t N, int64_t D, int64_t pli_row) {
  const int64_t T = st.rows.size();
  st.X = gather_streams(st.X, N, T, D, rows);
  st.pli = gather_rows(st.pli.data(), pli_row, pli_row, rows);
  st.rows = subset(st.rows, rows);
}

// Layer j of the step on the rows that run it: those whose size keeps the layer, each at its
// size's FFN width (in place when that is every row).
Status run_layer(const ComputeContext& ctx, const TextWeights& w, const TextConfig& c, const StepLayer& L, int64_t j,
                 int64_t Lp, std::span<SequenceKv* const> kv, StepState& st) {
  const int64_t T = st.rows.size(), N = c.altup_num_inputs, D = c.hidden_size, P = c.hidden_size_per_layer_input;
  std::vector<int32_t> member, width;
  bool uniform = true;
  for (int64_t t = 0; t < T; ++t)
    if (const int wt = L.width[st.rows.seq_of(t)]; wt > 0) {
      member.push_back(static_cast<int32_t>(t));
      width.push_back(wt);
      uniform = uniform && wt == L.pl.ffn_width;
    }
  if (uniform) width.clear();
  const LayerWeights& lw = w.layers[L.pl.layer];
  if (static_cast<int64_t>(member.size()) == T) {
    const AttentionState as{st.rows.segs, st.rows.positions, st.rows.row_seg, kv, &st.chunk_k, &st.chunk_v};
    decoder_layer(ctx, lw, L.pl, c, st.pli.data() + j * P, Lp * P, as, st.X.data(), T, width);
    return ok_status();
  }
  // Sizes never differ on a producer (step_compatible): producers see every row, so this step's
  // K/V rows are complete for the consumers.
  if (L.pl.kv_source < 0) return make_error(ErrorCode::kInternal, "a KV producer layer skipped by part of the step");
  if (member.empty()) return ok_status();
  const RowSet sub = subset(st.rows, member);
  const AttentionState as{sub.segs, sub.positions, sub.row_seg, kv, &st.chunk_k, &st.chunk_v};
  auto xs = gather_streams(st.X, N, T, D, member);
  const auto ps = gather_rows(st.pli.data() + j * P, Lp * P, P, member);
  decoder_layer(ctx, lw, L.pl, c, ps.data(), P, as, xs.data(), sub.size(), width);
  scatter_streams(xs, N, T, D, member, st.X);
  return ok_status();
}

// Appends this step's K/V of each sequence's producer layers to its cache.
void commit_kv(const TextConfig& c, std::span<const Segment> segs, std::span<const LayerPlan* const> plans,
               std::span<SequenceKv* const> kv, const StepState& st) {
  const int64_t kvd = static_cast<int64_t>(c.num_key_value_heads) * c.head_dim;
  for (const auto& s : segs) {
    const int n = s.row_end - s.row_begin;
    for (const auto& pl : plans[s.seq]->layers)
      if (pl.kv_source < 0)
        kv[s.seq]->store(pl.layer, st.chunk_k[pl.layer].data() + s.kv_row * kvd,
                         st.chunk_v[pl.layer].data() + s.kv_row * kvd, n);
    kv[s.seq]->advance(n);
  }
}

}  // namespace

Status TextModel::forward(const StepBatch& batch, const LayerPlan& plan, std::span<SequenceKv* const> kv,
                          StepOutput* out) const {
  const std::vector<const LayerPlan*> plans(kv.size(), &plan);
  return forward(batch, plans, kv, out);
}

Status TextModel::forward(const StepBatch& batch, std::span<const LayerPlan* const> plans,
                          std::span<SequenceKv* const> kv, StepOutput* out) const {
  const TextConfig& c = cfg_.text;
  const int64_t T = static_cast<int64_t>(batch.tokens.size());
  const int64_t D = c.hidden_size, N = c.altup_num_inputs, P = c.hidden_size_per_layer_input;
  if (T == 0) return ok_status();
  if (batch.positions.size() != batch.tokens.size() || batch.seq.size() != batch.tokens.size())
    return make_error(ErrorCode::kInvalidArgument, "step batch: tokens/positions/seq sizes differ");
  if (plans.size() != kv.size()) return make_error(ErrorCode::kInvalidArgument, "step batch: one plan per sequence");
  auto layers = step_layers(c, plans);
  if (!layers.ok()) return layers.error();
  LayerPlan merged;
  for (const auto& l : *layers) merged.layers.push_back(l.pl);
  const auto Lp = static_cast<int64_t>(merged.layers.size());
  auto batch_set = batch_rows(batch, kv, c.vocab_size);
  if (!batch_set.ok()) return batch_set.error();
  StepState st;
  st.rows = std::move(batch_set).value();
  const std::vector<Segment> segs = st.rows.segs;
  for (const auto& s : segs) {
    auto r = kv[s.seq]->reserve(s.row_end - s.row_begin);
    if (!r.ok()) return r;
  }

  std::vector<float> e(static_cast<size_t>(T * D));
  embed_tokens(ctx_, *w_, c, batch.tokens, batch.soft_embeddings, e.data());
  st.pli.resize(static_cast<size_t>(T * Lp * P));
  per_layer_inputs(ctx_, *w_, c, merged, batch.tokens, e.data(), T, st.pli.data());
  st.X.resize(static_cast<size_t>(N * T * D));
  altup_init(ctx_, *w_, c, e.data(), T, st.X.data());
  e = {};

  st.chunk_k.resize(static_cast<size_t>(c.num_hidden_layers));
  st.chunk_v.resize(st.chunk_k.size());
  if (out->capture_hidden) out->hidden.assign(static_cast<size_t>((Lp + 1) * N * T * D), 0.f);
  // KV sharing: the trailing consumer layers write no cache, so only rows whose logits are wanted
  // go through them (the last row of a prompt, none for an earlier chunk): 10 of E2B's 30 layers
  // and 15 of E4B's 35 run once per prompt instead of once per token. Exact: nothing in a layer
  // mixes rows but attention, and its keys are the producers' rows of every token.
  const auto suffix = static_cast<int64_t>(consumer_suffix_begin(merged));
  const bool narrow = !out->capture_hidden && batch.logit_rows.size() < static_cast<size_t>(T);
  std::vector<int32_t> logit_rows = batch.logit_rows;
  for (int64_t j = 0; j < Lp; ++j) {
    if (narrow && j == suffix) {
      narrow_to(st, logit_rows, N, D, Lp * P);
      for (size_t r = 0; r < logit_rows.size(); ++r) logit_rows[r] = static_cast<int32_t>(r);
      if (logit_rows.empty()) break;
    }
    if (out->capture_hidden) std::copy(st.X.begin(), st.X.end(), out->hidden.begin() + j * N * T * D);
    auto r = run_layer(ctx_, *w_, c, (*layers)[j], j, Lp, kv, st);
    if (!r.ok()) return r;
  }
  if (out->capture_hidden) std::copy(st.X.begin(), st.X.end(), out->hidden.begin() + Lp * N * T * D);
  commit_kv(c, segs, plans, kv, st);

  const int64_t R = static_cast<int64_t>(batch.logit_rows.size());
  out->logits.resize(static_cast<size_t>(R * c.vocab_size));
  if (R > 0) {
    std::vector<float> h(static_cast<size_t>(R * D));
    final_hidden(ctx_, *w_, c, st.X.data(), st.rows.size(), logit_rows, h.data());
    lm_head(ctx_, *w_, c, h.data(), R, out->logits.data());
  }
  return ok_status();
}

}  // namespace gs::runtime::gemma3n
