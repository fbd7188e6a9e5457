// Where the bytes of an image_url come from, and which sources a client may name. data: URLs are
// always accepted; http(s) URLs only when the operator enabled fetching (the fetch itself is
// injected: api/ knows no sockets); local paths only under the operator's image directory, checked
// on the canonical path so that "..", symlinks and odd spellings cannot escape it. Reading files or
// URLs on a client's behalf is a server-side request, hence off unless configured.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "api/result.h"

namespace gs::api {

// Fetches an http(s) URL: the body, or a 400 naming what went wrong (status, timeout, size).
using ImageFetcher = std::function<Result<std::vector<uint8_t>>(const std::string& url)>;

struct ImageSourcePolicy {
  bool fetch_remote = false;              // http(s) URLs (needs `fetch` too)
  int64_t max_bytes = int64_t{20} << 20;  // fetched or read image bytes; data: URLs are bounded by the body limit
  std::string image_dir;                  // "" = no local files
  ImageFetcher fetch;
};

enum class ImageSourceKind { kDataUrl, kRemote, kLocalFile, kOther };
ImageSourceKind classify_image_url(std::string_view url);

// The image's encoded bytes. Every refusal is a 400 with `param` (e.g.
// "messages[0].content[1].image_url.url"); a file outside image_dir and a missing file get the
// same answer, so clients cannot probe the server's file system.
Result<std::vector<uint8_t>> load_image_bytes(const std::string& url, const ImageSourcePolicy& policy,
                                              const std::string& param);

// A local reference (absolute path or file:// URL) → the canonical path of an existing regular
// file under the canonical image_dir, or an ApiError. Exposed for tests.
Result<std::filesystem::path> resolve_local_image(std::string_view url, const std::string& image_dir,
                                                  const std::string& param);

}  // namespace gs::api
