#include "api/prompt/text_codec.h"

namespace gs::api {

size_t complete_utf8_prefix(std::string_view s) {
  // Walk back at most 3 bytes to the last lead byte and check whether its sequence is complete.
  const size_t n = s.size();
  for (size_t back = 1; back <= 4 && back <= n; ++back) {
    const auto c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte
    size_t need = 1;
    if ((c & 0xE0) == 0xC0) need = 2;
    else if ((c & 0xF0) == 0xE0) need = 3;
    else if ((c & 0xF8) == 0xF0) need = 4;
    return back >= need ? n : n - back;
  }
  return n;  // only continuation bytes: invalid anyway, do not hold it back forever
}

std::string ByteStreamDecoder::push(int32_t id) {
  pending_ += codec_.token_bytes(id);
  const size_t k = complete_utf8_prefix(pending_);
  std::string out = pending_.substr(0, k);
  pending_.erase(0, k);
  return out;
}

std::string ByteStreamDecoder::flush() {
  std::string out;
  out.swap(pending_);
  return out;
}

}  // namespace gs::api
