// Gemma 3n configuration from a Hugging Face config.json (Gemma3nConfig with text/audio/vision
// sub-configs). Missing optional keys take the transformers class defaults (E4B); keys that define
// the model's shape are required and a missing one is an error naming it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/status.h"

namespace gs::runtime::gemma3n {

enum class LayerType { kSliding, kFull };

struct TextConfig {
  int hidden_size = 2048;
  int num_hidden_layers = 35;
  int num_attention_heads = 8;
  int num_key_value_heads = 2;
  int head_dim = 256;
  int vocab_size = 262400;
  int vocab_size_per_layer_input = 262144;
  int hidden_size_per_layer_input = 256;
  std::vector<int> intermediate_size;             // one width per layer
  std::vector<LayerType> layer_types;             // one per layer
  std::vector<float> activation_sparsity;         // one per layer
  int sliding_window = 512;
  double rope_theta_full = 1e6;
  double rope_theta_sliding = 1e4;
  double final_logit_softcapping = 30.0;          // <= 0: off
  double rms_norm_eps = 1e-6;
  int max_position_embeddings = 32768;
  int altup_num_inputs = 4;
  int altup_active_idx = 0;
  double altup_coef_clip = 120.0;
  bool altup_correct_scale = true;
  int laurel_rank = 64;
  int num_kv_shared_layers = 15;

  int first_kv_shared_layer() const { return num_hidden_layers - num_kv_shared_layers; }
  // For a KV-consumer layer, the producer layer whose cache it reads; -1 for producers.
  int kv_source_layer(int layer) const;
  // Whether a producer layer's K/V is read by some consumer.
  bool kv_is_shared_source(int layer) const;
};

struct Gemma3nConfig {
  TextConfig text;
  std::string storage_dtype = "bfloat16";  // torch_dtype / dtype
  // Multimodal token ids (from the top-level config).
  int boi_token_id = 255999, eoi_token_id = 262144, image_token_id = 262145;
  int boa_token_id = 256000, eoa_token_id = 262272, audio_token_id = 262273;
  int vision_soft_tokens_per_image = 256;
  int audio_soft_tokens_per_image = 188;
  int vision_vocab_offset = 262144, vision_vocab_size = 128;
  int audio_vocab_offset = 262272, audio_vocab_size = 128;
  int vision_hidden_size = 2048, audio_hidden_size = 1536;
  int pad_token_id = 0, bos_token_id = 2;
  std::vector<int> eos_token_ids = {1, 106};
  // Raw JSON text of the sub-configs, parsed by the audio and vision modules themselves.
  std::string audio_config_json;
  std::string vision_config_json;
};

// Parses config.json text. Errors name the offending key.
Expected<Gemma3nConfig> parse_config(const std::string& json_text);
// Reads <dir>/config.json (and eos ids from generation_config.json when present).
Expected<Gemma3nConfig> load_config(const std::string& model_dir);

}  // namespace gs::runtime::gemma3n
