// Weights of the Gemma 3n text decoder, bound once from the checkpoint by Hugging Face name.
// Linear layers are converted to the runtime's weight format (resident); the per-layer-embedding
// (PLE) table stays memory-mapped and is read row by row (PleTable).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "runtime/kernels/matmul.h"
#include "runtime/models/gemma3n/config.h"
#include "runtime/models/gemma3n/ple_table.h"
#include "runtime/weights/convert_cache.h"
#include "runtime/weights/safetensors.h"

namespace gs::runtime::gemma3n {

// Columns [col0, col0 + w.cols) of a matrix, stored as a matrix of their own.
struct ColumnPanel {
  int64_t col0 = 0;
  WeightView w;
};

struct LayerWeights {
  WeightView q_proj, k_proj, v_proj, o_proj;           // [H*hd, D], [KV*hd, D] x2, [D, H*hd]
  WeightView gate_proj, up_proj;                       // [F, D], [F, D]
  std::vector<ColumnPanel> down_proj;                  // [D, F] as column panels (dense layers)
  WeightView down_proj_t;                              // [F, D]: sparse layers keep down transposed
                                                       // instead (down_proj empty there)
  WeightView modality_router;                          // [N, D]
  WeightView laurel_left, laurel_right;                // [r, D], [D, r]
  WeightView per_layer_input_gate, per_layer_projection;  // [P, D], [D, P]
  std::vector<float> q_norm, k_norm;                   // [hd]
  std::vector<float> input_layernorm, post_attention_layernorm;        // [D]
  std::vector<float> pre_feedforward_layernorm, post_feedforward_layernorm;
  std::vector<float> router_norm, correct_output_scale;               // [D]
  std::vector<float> correction_coefs;                 // [N, N]
  std::vector<float> prediction_coefs;                 // [N*N, N]
  std::vector<float> post_laurel_norm, post_per_layer_input_norm;     // [D]
  bool has_kv_proj = false;
};

// embed_vision / embed_audio: hard tokens and soft tokens into text space.
struct MultimodalEmbedderWeights {
  bool present = false;
  int vocab_offset = 0, vocab_size = 0, in_dim = 0;
  std::vector<float> embedding;                        // [vocab_size, in_dim]
  std::vector<float> hard_norm, soft_norm;             // [in_dim]
  WeightView projection;                               // [D, in_dim]
};

struct TextWeights {
  WeightView embed_tokens;                             // [V, D]; also the tied LM head
  WeightView per_layer_model_projection;               // [L*P, D]
  std::vector<float> per_layer_projection_norm;        // [P]
  std::vector<WeightView> altup_projections;           // N-1 x [D, D]
  std::vector<WeightView> altup_unembed_projections;   // N-1 x [D, D]
  std::vector<float> final_norm;                       // [D]
  std::vector<LayerWeights> layers;
  MultimodalEmbedderWeights embed_vision, embed_audio;
  std::unique_ptr<PleTable> ple;
  std::vector<OwnedWeight> storage;                    // owns every WeightView above...
  std::unique_ptr<ConvertCacheReader> convert_cache;   // ...or this mapping does (cache hit)
  bool from_convert_cache = false;
  size_t resident_bytes = 0;
  int64_t params_core = 0;
};

// Prefix of the text tensors inside a Gemma3nForConditionalGeneration checkpoint.
std::string text_prefix(const WeightStore& ws);

// How the converted weights are laid out (both change what the convert cache stores).
struct WeightLayout {
  // Layers with activation sparsity store down_proj transposed (see kernels/sparse_matmul.h).
  bool sparse_ffn = true;
  // FFN widths at which the dense layers' down_proj is cut into column panels. A MatFormer size
  // of width w reads the first w columns of every row of down_proj; unsplit, that is half of
  // each 16384-column E4B row, a strided walk the hardware prefetcher overshoots (the E2B slice
  // decoded at 69 % of the bandwidth roofline against 86 % for E2B itself, same bytes). A panel
  // boundary at w turns the slice's read into one contiguous stream; the full width reads the
  // panels one after the other and adds.
  std::vector<int64_t> ffn_panel_widths;
  // kQ4 weights read by whole-matrix products store their rows interleaved in groups of 8
  // (kernels/q4_interleave.h); rows read one at a time stay plain.
  bool q4_row_groups = true;
};

// Binds and converts the text decoder's weights. `format` applies to the linear layers and the
// embedding/LM head. Audio/vision tower tensors are never touched. With a `cache_dir`, quantized
// matrices are read from (or written to) the convert cache there.
Expected<std::unique_ptr<TextWeights>> load_text_weights(const WeightStore& ws, const Gemma3nConfig& cfg,
                                                        WeightFormat format, const ComputeContext& ctx,
                                                        const PleOptions& ple = {},
                                                        const std::string& cache_dir = "",
                                                        const WeightLayout& layout = {});

}  // namespace gs::runtime::gemma3n
