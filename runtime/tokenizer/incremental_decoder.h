// Streaming detokenisation: turns ids into UTF-8 text as they are generated, holding back the
// bytes of a character that byte-fallback tokens have only partly produced. Never emits a
// broken UTF-8 sequence and never drops bytes: bytes that cannot start or continue a valid
// character come out as U+FFFD, one per byte, as soon as that is certain.
//
// For valid text, the concatenation of all push() results and flush() equals
// Tokenizer::decode(ids, skip_special). (The tokenizer's Strip decoder step, which Gemma does
// not use, is not applied here.)
#pragma once
#include <cstdint>
#include <string>

#include "runtime/tokenizer/tokenizer.h"

namespace gs::runtime {

class IncrementalDecoder {
 public:
  // Shares tok's (immutable) data, so the decoder may outlive the Tokenizer object.
  explicit IncrementalDecoder(const Tokenizer& tok, bool skip_special = true);
  std::string push(int32_t id);  // returns newly completed UTF-8 text (may be empty)
  std::string flush();           // whatever is left (invalid tail bytes as U+FFFD)
  // Bytes held back, waiting for the rest of a character.
  size_t pending_bytes() const { return pending_.size(); }

 private:
  Tokenizer tok_;
  bool skip_special_;
  std::string pending_;
};

}  // namespace gs::runtime
