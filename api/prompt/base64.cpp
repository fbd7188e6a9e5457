#include "api/prompt/base64.h"

namespace gs::api {
namespace {

int sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

}  // namespace

std::optional<std::vector<uint8_t>> base64_decode(std::string_view in) {
  std::vector<uint8_t> out;
  out.reserve(in.size() / 4 * 3 + 3);
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0, digits = 0;
  for (char c : in) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      ++pad;
      continue;
    }
    if (pad > 0) return std::nullopt;  // data after padding
    const int v = sextet(c);
    if (v < 0) return std::nullopt;
    ++digits;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>((acc >> bits) & 0xFF));
    }
  }
  if (digits % 4 == 1 || pad > 2 || (pad > 0 && (digits + pad) % 4 != 0)) return std::nullopt;
  return out;
}

std::optional<DataUrl> parse_data_url(std::string_view url) {
  if (url.substr(0, 5) != "data:") return std::nullopt;
  const size_t comma = url.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  std::string_view meta = url.substr(5, comma - 5);
  constexpr std::string_view kB64 = ";base64";
  if (meta.size() < kB64.size() || meta.substr(meta.size() - kB64.size()) != kB64) return std::nullopt;
  DataUrl out;
  out.mime = std::string(meta.substr(0, meta.size() - kB64.size()));
  if (const size_t semi = out.mime.find(';'); semi != std::string::npos) out.mime.resize(semi);
  auto bytes = base64_decode(url.substr(comma + 1));
  if (!bytes) return std::nullopt;
  out.bytes = std::move(*bytes);
  return out;
}

}  // namespace gs::api
