// Hugging Face tokenizer.json (BPE with byte fallback, as shipped with Gemma 3 / 3n): load,
// encode, decode. Immutable after load and cheap to copy (shared data); safe to use from many
// threads at once.
//
// Encoding follows the reference pipeline: added tokens are found in the raw text first
// (leftmost-longest, never split), the rest is normalised (Gemma: ' ' -> U+2581), pre-tokenised
// (Gemma's Split on ' ' is a no-op after that normalisation), BPE-merged by rank and mapped to
// ids, with unknown characters spelled as <0xHH> byte tokens. encode() never adds <bos>; callers
// that want it prepend bos_id() (the chat template emits it as text).
//
// Invalid UTF-8 input is rejected with ErrorCode::kInvalidArgument naming the byte offset; it
// never reaches the BPE.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/status.h"

namespace gs::runtime {

namespace detail {
struct TokenizerData;
}

// A run of text to encode and whether special-token strings inside it may become special
// tokens (the chat template allows them in its own markup only, not in user content).
struct TextSegment {
  std::string_view text;
  bool parse_special = true;
};

class Tokenizer {
 public:
  static Expected<Tokenizer> load(const std::string& tokenizer_json_path);
  static Expected<Tokenizer> from_json(std::string_view json_text);

  // parse_special: recognise special/added token strings in text (true for chat prompts).
  // With false, tokens flagged "special" are spelled out by BPE; non-special added tokens
  // (Gemma's "\n", "\n\n", tab runs, <unusedN>) are still matched, as HF does with
  // split_special_tokens=True.
  Expected<std::vector<int32_t>> encode(std::string_view text, bool parse_special = true) const;
  // Encodes the concatenation of the segments as one text (added tokens such as "\n\n" may span
  // segment borders) while allowing special tokens only inside segments that permit them.
  Expected<std::vector<int32_t>> encode_segments(std::span<const TextSegment> segments) const;

  // Ids outside the vocabulary are ignored. Byte runs that are not valid UTF-8 become one
  // U+FFFD per byte (the Hugging Face ByteFallback decoder's rule).
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;

  std::optional<int32_t> token_id(std::string_view token) const;  // exact token string -> id
  std::string token_text(int32_t id) const;                       // raw piece ("▁hello", "<0x0A>")
  std::vector<uint8_t> token_bytes(int32_t id) const;             // the bytes this token decodes to
  int32_t vocab_size() const;                                     // highest id + 1, added tokens included
  bool is_special(int32_t id) const;
  int32_t bos_id() const;
  int32_t eos_id() const;
  int32_t unk_id() const;

  // Internal data (for the incremental decoder and tests of internals).
  const detail::TokenizerData& data() const { return *d_; }

 private:
  explicit Tokenizer(std::shared_ptr<const detail::TokenizerData> d) : d_(std::move(d)) {}
  std::shared_ptr<const detail::TokenizerData> d_;
};

}  // namespace gs::runtime
