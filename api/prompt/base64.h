// Base64 (RFC 4648, standard and URL-safe alphabets, padding optional, whitespace skipped) and
// data: URLs. Parses untrusted client bytes: every malformed input is an error, never a crash.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gs::api {

std::optional<std::vector<uint8_t>> base64_decode(std::string_view in);

struct DataUrl {
  std::string mime;                // "image/png" ("" when absent)
  std::vector<uint8_t> bytes;
};
// "data:[<mime>][;base64],<payload>"; only base64 payloads are accepted (media is binary).
std::optional<DataUrl> parse_data_url(std::string_view url);

}  // namespace gs::api
