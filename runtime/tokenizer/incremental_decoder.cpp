#include "runtime/tokenizer/incremental_decoder.h"

#include "runtime/tokenizer/tokenizer_data.h"
#include "runtime/tokenizer/utf8.h"

namespace gs::runtime {

IncrementalDecoder::IncrementalDecoder(const Tokenizer& tok, bool skip_special)
    : tok_(tok), skip_special_(skip_special) {}

std::string IncrementalDecoder::push(int32_t id) {
  const detail::TokenizerData& d = tok_.data();
  if (id < 0 || static_cast<size_t>(id) >= d.pieces.size() || d.pieces[static_cast<size_t>(id)].empty()) return {};
  const auto u = static_cast<size_t>(id);
  if (skip_special_ && d.special[u]) return {};
  if (d.byte_value[u] >= 0)
    pending_.push_back(static_cast<char>(d.byte_value[u]));
  else
    pending_ += d.decoded[u];
  std::string out;
  size_t i = 0;
  while (i < pending_.size()) {
    const int n = utf8::sequence_length(pending_, i);
    if (n < 0) break;  // a valid prefix of a character: wait for more bytes
    if (n == 0) {
      out += utf8::kReplacementChar;
      ++i;
      continue;
    }
    out.append(pending_, i, static_cast<size_t>(n));
    i += static_cast<size_t>(n);
  }
  pending_.erase(0, i);
  return out;
}

std::string IncrementalDecoder::flush() {
  std::string out;
  for (size_t k = 0; k < pending_.size(); ++k) out += utf8::kReplacementChar;
  pending_.clear();
  return out;
}

}  // namespace gs::runtime
