// Small UTF-8 helpers shared by the tokenizer, its decoders and the chat template.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace gs::runtime::utf8 {

// Offset of the first byte that is not part of well-formed UTF-8 (RFC 3629: no overlongs,
// no surrogates, nothing above U+10FFFF), or npos when the whole text is valid.
size_t find_invalid(std::string_view s);

// Length of the well-formed sequence starting at s[i] (1..4), 0 if s[i] starts an invalid
// sequence, -1 if it is a valid but incomplete prefix that runs past the end of s.
int sequence_length(std::string_view s, size_t i);

// Decodes the code point at s[i] of a string already known to be valid; advances i.
inline uint32_t next_code_point(std::string_view s, size_t& i) {
  const auto b0 = static_cast<uint8_t>(s[i]);
  if (b0 < 0x80) { ++i; return b0; }
  int n = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : 2;
  uint32_t cp = b0 & (0x7F >> n);
  for (int k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<uint8_t>(s[i + k]) & 0x3F);
  i += n;
  return cp;
}

void append_code_point(std::string& out, uint32_t cp);

inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace gs::runtime::utf8
