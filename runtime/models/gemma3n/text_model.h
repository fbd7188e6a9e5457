// The Gemma 3n text decoder: token ids (and optional multimodal soft-token embeddings) of one or
// more sequences in, logits out, with KV-cached incremental decode. Mirrors HF
// Gemma3nTextModel.forward with use_cache=True semantics (see shared/spec/gemma3n-text.md §3).
#pragma once
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "runtime/core/threading.h"
#include "runtime/kernels/matmul.h"
#include "runtime/kv/kv_cache.h"
#include "runtime/models/gemma3n/config.h"
#include "runtime/models/gemma3n/layer_plan.h"
#include "runtime/models/gemma3n/text_weights.h"

namespace gs::runtime::gemma3n {

// One forward step over a flat batch. Rows of one sequence are contiguous, with consecutive
// positions starting at that sequence's current KV length.
struct StepBatch {
  std::vector<int32_t> tokens;                 // [T]
  std::vector<int32_t> positions;              // [T]
  std::vector<int32_t> seq;                    // [T] index into the kv span passed to forward()
  std::vector<const float*> soft_embeddings;   // [T] or empty: row replaces the token's embedding
  std::vector<int32_t> logit_rows;             // rows whose logits are wanted, ascending
  void add(int32_t token, int32_t pos, int32_t s, bool want_logits) {
    if (want_logits) logit_rows.push_back(static_cast<int32_t>(tokens.size()));
    tokens.push_back(token);
    positions.push_back(pos);
    seq.push_back(s);
  }
};

struct StepOutput {
  std::vector<float> logits;                   // [logit_rows, vocab]
  bool capture_hidden = false;                 // record the AltUp streams at every layer input
  std::vector<float> hidden;                   // [layers+1, N, T, D] when captured
};

struct TextModelOptions {
  WeightFormat format = WeightFormat::kF32;
  bool format_auto = true;                     // use the checkpoint's storage dtype (f32 or bf16)
  int max_context = 32768;
  PleOptions ple;
  std::string convert_cache_dir;               // "" = quantize at every load
  bool sparse_ffn = true;                      // compute only active neurons in sparse layers
  // Widths at which dense down_proj is cut into column panels (see WeightLayout); unset: the
  // narrower FFN widths of the MatFormer presets that apply to this checkpoint.
  std::optional<std::vector<int64_t>> ffn_panel_widths;
  bool q4_row_groups = true;                   // interleaved kQ4 rows (see WeightLayout)
};

class TextModel {
 public:
  static Expected<std::unique_ptr<TextModel>> load(const std::string& model_dir, const TextModelOptions& opt,
                                                   const ComputeContext& ctx);
  const Gemma3nConfig& config() const { return cfg_; }
  const TextConfig& text_config() const { return cfg_.text; }
  const TextWeights& weights() const { return *w_; }
  const WeightStore& store() const { return *store_; }
  WeightFormat format() const { return format_; }
  const LayerPlan& full() const { return full_plan_; }
  KvLayout kv_layout(const LayerPlan& plan) const;
  std::unique_ptr<SequenceKv> new_sequence(const LayerPlan& plan) const;

  // Runs one step; commits the new K/V of every sequence in the batch.
  Status forward(const StepBatch& batch, const LayerPlan& plan, std::span<SequenceKv* const> kv,
                 StepOutput* out) const;
  // The same with one plan per sequence (plans[i] for kv[i]): MatFormer sizes of this model that
  // are step_compatible share the step, and each layer's weights are read once for all of them.
  // With mixed plans, captured hidden states cover every layer some plan keeps.
  Status forward(const StepBatch& batch, std::span<const LayerPlan* const> plans, std::span<SequenceKv* const> kv,
                 StepOutput* out) const;

  // Soft-token rows for multimodal embeddings through embed_vision / embed_audio's soft path.
  const ComputeContext& ctx() const { return ctx_; }

 private:
  TextModel(const ComputeContext& ctx) : ctx_(ctx) {}
  const ComputeContext& ctx_;
  Gemma3nConfig cfg_;
  std::unique_ptr<WeightStore> store_;
  std::unique_ptr<TextWeights> w_;
  WeightFormat format_ = WeightFormat::kF32;
  LayerPlan full_plan_;
  int max_context_ = 32768;
};

}  // namespace gs::runtime::gemma3n
