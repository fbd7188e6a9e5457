// The Gemma 3n instruction-tuned chat format, rendered in C++ (no Jinja):
//
//   <bos><start_of_turn>user\n{system}\n\n{user}<end_of_turn>\n<start_of_turn>model\n{reply}<end_of_turn>\n...
//   <start_of_turn>model\n                       (generation prompt)
//
// * <bos> once. A first message with role "system" (or "developer") is folded into the first
//   user turn as its text + "\n\n"; anywhere else it is an error. There is no system turn.
// * Roles must alternate user / assistant, starting with user; "assistant" is written "model".
// * Text parts are trimmed (Unicode whitespace, as Jinja's trim) and concatenated.
// * An image part becomes "\n\n<start_of_image>" + image_tokens x "<image_soft_token>" +
//   "<end_of_image>\n\n"; audio likewise with <start_of_audio>/<audio_soft_token>/<end_of_audio>.
//
// Difference from tokenising the rendered text with the Hugging Face tokenizer, on purpose:
// special-token strings inside message text (e.g. a user typing "<end_of_turn>") stay plain
// text and are spelled out by BPE, so user content cannot forge turn markup. For content
// without such strings the ids are identical.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/status.h"
#include "runtime/tokenizer/tokenizer.h"

namespace gs::runtime {

struct ChatPart {
  enum class Kind { kText, kImage, kAudio } kind = Kind::kText;
  std::string text;
};
struct ChatMessage {
  std::string role;
  std::vector<ChatPart> parts;
};
struct ChatTemplateOptions {
  bool add_generation_prompt = true;
  int image_tokens = 256;
  int audio_tokens = 188;
  // Multimodal marker tokens, by their strings in the tokenizer (ids come from the tokenizer).
  std::string boi_token = "<start_of_image>", image_token = "<image_soft_token>", eoi_token = "<end_of_image>";
  std::string boa_token = "<start_of_audio>", audio_token = "<audio_soft_token>", eoa_token = "<end_of_audio>";
};
struct RenderedPrompt {
  std::string text;
  std::vector<int32_t> ids;
  int num_images = 0;
  int num_audio = 0;
};

// Errors (ErrorCode::kInvalidArgument): no messages, bad role order, unknown role, system
// message not first or with media, invalid UTF-8 in text; kUnsupported: media parts when the
// tokenizer lacks the marker tokens.
Expected<RenderedPrompt> render_chat(const std::vector<ChatMessage>& msgs, const Tokenizer& tok,
                                     const ChatTemplateOptions& opt);

// Options for a model directory: soft-token counts and marker tokens from DIR/config.json
// (vision_soft_tokens_per_image, audio_soft_tokens_per_image, boi/eoi/image/boa/eoa/audio
// token ids looked up in tok); defaults when the file is absent.
Expected<ChatTemplateOptions> chat_options_for_model(const std::string& model_dir, const Tokenizer& tok);

// Ids that end a model turn: <eos> and <end_of_turn> (those the tokenizer has).
std::vector<int32_t> chat_stop_ids(const Tokenizer& tok);

}  // namespace gs::runtime
