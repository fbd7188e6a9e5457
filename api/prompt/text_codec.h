// TextCodec: what the API layer needs from a tokenizer and chat template, as an interface so
// handlers and their tests do not depend on a concrete tokenizer. The production implementation
// wraps runtime/tokenizer (tokenizer_codec.h).
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "api/result.h"

namespace gs::api {

struct PromptPart {
  enum class Kind { kText, kImage, kAudio } kind = Kind::kText;
  std::string text;
};

struct PromptTurn {
  std::string role;
  std::vector<PromptPart> parts;
};

struct TokenizedPrompt {
  std::vector<int32_t> ids;     // BOS included; media placeholders expanded
  int num_images = 0, num_audio = 0;
};

// Turns generated token ids into UTF-8 text incrementally: push() returns only complete
// characters, holding back a partial multi-byte sequence until the next token.
class StreamDecoder {
 public:
  virtual ~StreamDecoder() = default;
  virtual std::string push(int32_t id) = 0;
  virtual std::string flush() = 0;
};

class TextCodec {
 public:
  virtual ~TextCodec() = default;
  // Gemma chat template with the generation prompt appended.
  virtual Result<TokenizedPrompt> render_chat(const std::vector<PromptTurn>& turns) const = 0;
  // Plain text → ids with BOS (for /v1/completions).
  virtual Result<std::vector<int32_t>> encode_prompt(std::string_view text) const = 0;
  // Raw bytes of one token (for logprobs `bytes`; may be a partial UTF-8 sequence).
  virtual std::string token_bytes(int32_t id) const = 0;
  virtual std::unique_ptr<StreamDecoder> stream_decoder() const = 0;
  // Tokens that end a turn (<end_of_turn>, <eos>); their text never reaches the client.
  virtual std::vector<int32_t> stop_token_ids() const = 0;
  virtual int vocab_size() const = 0;
};

// A StreamDecoder built only on token_bytes(): concatenates bytes and releases complete UTF-8.
// Good for byte-level vocabularies and tests; the tokenizer adapter uses the tokenizer's own.
class ByteStreamDecoder : public StreamDecoder {
 public:
  explicit ByteStreamDecoder(const TextCodec& codec) : codec_(codec) {}
  std::string push(int32_t id) override;
  std::string flush() override;

 private:
  const TextCodec& codec_;
  std::string pending_;
};

// Length of the longest prefix of `s` that does not end inside a UTF-8 sequence.
size_t complete_utf8_prefix(std::string_view s);

}  // namespace gs::api
