#include "runtime/models/gemma3n/text_model.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "runtime/models/gemma3n/text_blocks.h"

namespace gs::runtime::gemma3n {

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
  auto w = load_text_weights(*m->store_, m->cfg_, m->format_, ctx, opt.ple, opt.convert_cache_dir, opt.sparse_ffn);
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

// The step narrowed to the rows whose logits are wanted, for the consumer suffix.
struct KeptRows {
  std::vector<Segment> segs;
  std::vector<int32_t> positions, row_seg;
};

// X[N, T, D] and pli[T, Lp*P] keep `rows` (ascending) in place; their segments keep pointing at
// this step's K/V rows of every token (kv_row), which the producers computed for all T rows.
KeptRows keep_rows(std::span<const int32_t> rows, std::span<const Segment> segs, std::span<const int32_t> positions,
                   std::span<const int32_t> row_seg, int64_t N, int64_t T, int64_t D, int64_t pli_row,
                   std::vector<float>& X, std::vector<float>& pli) {
  const auto R = static_cast<int64_t>(rows.size());
  KeptRows k;
  std::vector<float> x(static_cast<size_t>(N * R * D)), p(static_cast<size_t>(R * pli_row));
  int last_seg = -1;
  for (int64_t r = 0; r < R; ++r) {
    const int64_t t = rows[r];
    for (int64_t i = 0; i < N; ++i)
      std::copy_n(X.begin() + (i * T + t) * D, D, x.begin() + (i * R + r) * D);
    std::copy_n(pli.begin() + t * pli_row, pli_row, p.begin() + r * pli_row);
    if (row_seg[t] != last_seg) {
      last_seg = row_seg[t];
      Segment s = segs[last_seg];
      s.row_begin = s.row_end = static_cast<int>(r);
      k.segs.push_back(s);
    }
    k.segs.back().row_end = static_cast<int>(r) + 1;
    k.positions.push_back(positions[t]);
    k.row_seg.push_back(static_cast<int32_t>(k.segs.size() - 1));
  }
  X = std::move(x);
  pli = std::move(p);
  return k;
}

}  // namespace

Status TextModel::forward(const StepBatch& batch, const LayerPlan& plan, std::span<SequenceKv* const> kv,
                          StepOutput* out) const {
  const TextConfig& c = cfg_.text;
  int64_t T = static_cast<int64_t>(batch.tokens.size());  // rows in flight; fewer in the consumer suffix
  const int64_t D = c.hidden_size, N = c.altup_num_inputs, P = c.hidden_size_per_layer_input;
  const int64_t Lp = static_cast<int64_t>(plan.layers.size());
  if (T == 0) return ok_status();
  if (batch.positions.size() != batch.tokens.size() || batch.seq.size() != batch.tokens.size())
    return make_error(ErrorCode::kInvalidArgument, "step batch: tokens/positions/seq sizes differ");

  // Segments: contiguous rows of one sequence, starting at its KV length.
  std::vector<Segment> segs;
  std::vector<int32_t> row_seg(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t) {
    const int s = batch.seq[t];
    if (s < 0 || static_cast<size_t>(s) >= kv.size()) return make_error(ErrorCode::kInvalidArgument, "bad seq index");
    if (segs.empty() || segs.back().seq != s) {
      segs.push_back({s, static_cast<int>(t), static_cast<int>(t), kv[s]->length(), static_cast<int>(t)});
      if (batch.positions[t] != kv[s]->length())
        return make_error(ErrorCode::kInvalidArgument, "step batch: positions must continue the sequence");
    } else if (batch.positions[t] != batch.positions[t - 1] + 1) {
      return make_error(ErrorCode::kInvalidArgument, "step batch: positions must be consecutive");
    }
    segs.back().row_end = static_cast<int>(t) + 1;
    row_seg[t] = static_cast<int32_t>(segs.size() - 1);
    if (batch.tokens[t] < 0 || batch.tokens[t] >= c.vocab_size)
      return make_error(ErrorCode::kInvalidArgument, "token id " + std::to_string(batch.tokens[t]) + " out of range");
  }
  for (size_t i = 0; i < batch.logit_rows.size(); ++i)
    if (batch.logit_rows[i] < 0 || batch.logit_rows[i] >= T || (i > 0 && batch.logit_rows[i] <= batch.logit_rows[i - 1]))
      return make_error(ErrorCode::kInvalidArgument, "step batch: logit rows must be ascending rows of the step");
  for (const auto& s : segs) {
    auto st = kv[s.seq]->reserve(s.row_end - s.row_begin);
    if (!st.ok()) return st;
  }

  std::vector<float> e(static_cast<size_t>(T * D));
  embed_tokens(ctx_, *w_, c, batch.tokens, batch.soft_embeddings, e.data());
  std::vector<float> pli(static_cast<size_t>(T * Lp * P));
  per_layer_inputs(ctx_, *w_, c, plan, batch.tokens, e.data(), T, pli.data());
  std::vector<float> X(static_cast<size_t>(N * T * D));
  altup_init(ctx_, *w_, c, e.data(), T, X.data());
  e = {};

  std::vector<std::vector<float>> chunk_k(static_cast<size_t>(c.num_hidden_layers)), chunk_v(chunk_k.size());
  AttentionState as{segs, batch.positions, row_seg, kv, &chunk_k, &chunk_v};
  if (out->capture_hidden) out->hidden.assign(static_cast<size_t>((Lp + 1) * N * T * D), 0.f);
  // KV sharing: the trailing consumer layers write no cache, so only rows whose logits are wanted
  // go through them (the last row of a prompt, none for an earlier chunk): 10 of E2B's 30 layers
  // and 15 of E4B's 35 run once per prompt instead of once per token. Exact: nothing in a layer
  // mixes rows but attention, and its keys are the producers' rows of every token.
  const auto suffix = static_cast<int64_t>(consumer_suffix_begin(plan));
  const bool narrow = !out->capture_hidden && batch.logit_rows.size() < static_cast<size_t>(T);
  KeptRows kept;
  std::span<const int32_t> logit_rows = batch.logit_rows;
  std::vector<int32_t> all_kept;
  for (int64_t j = 0; j < Lp; ++j) {
    if (narrow && j == suffix) {
      kept = keep_rows(batch.logit_rows, segs, batch.positions, row_seg, N, T, D, Lp * P, X, pli);
      T = static_cast<int64_t>(batch.logit_rows.size());
      as.segments = kept.segs;
      as.positions = kept.positions;
      as.row_segment = kept.row_seg;
      for (int32_t r = 0; r < T; ++r) all_kept.push_back(r);
      logit_rows = all_kept;
      if (T == 0) break;
    }
    if (out->capture_hidden) std::copy(X.begin(), X.end(), out->hidden.begin() + j * N * T * D);
    const PlannedLayer& pl = plan.layers[j];
    decoder_layer(ctx_, w_->layers[pl.layer], pl, c, pli.data() + j * P, Lp * P, as, X.data(), T);
  }
  if (out->capture_hidden) std::copy(X.begin(), X.end(), out->hidden.begin() + Lp * N * T * D);

  // Commit this step's K/V of every producing layer.
  const int64_t kvd = static_cast<int64_t>(c.num_key_value_heads) * c.head_dim;
  for (const auto& s : segs) {
    const int n = s.row_end - s.row_begin;
    for (const auto& pl : plan.layers)
      if (pl.kv_source < 0)
        kv[s.seq]->store(pl.layer, chunk_k[pl.layer].data() + s.kv_row * kvd, chunk_v[pl.layer].data() + s.kv_row * kvd,
                         n);
    kv[s.seq]->advance(n);
  }

  const int64_t R = static_cast<int64_t>(batch.logit_rows.size());
  out->logits.resize(static_cast<size_t>(R * c.vocab_size));
  if (R > 0) {
    std::vector<float> h(static_cast<size_t>(R * D));
    final_hidden(ctx_, *w_, c, X.data(), T, logit_rows, h.data());
    lm_head(ctx_, *w_, c, h.data(), R, out->logits.data());
  }
  return ok_status();
}

}  // namespace gs::runtime::gemma3n
