// The HTTP(S) client behind remote image_url parts (api::ImageFetcher): HTTP/1.1 GET over
// Boost.Beast, TLS through OpenSSL with peer verification against the system CA store and SNI,
// at most `max_redirects` redirects (each target parsed and checked again), a byte cap enforced
// before (Content-Length) and while reading, and one deadline for the whole fetch. Only enabled
// when the operator passes --image-fetch on.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/prompt/image_source.h"

namespace gs::server {

struct MediaFetchOptions {
  int64_t max_bytes = int64_t{20} << 20;
  double timeout_s = 10;     // connect + TLS + request + headers + body, all redirects together
  int max_redirects = 3;
  std::string extra_ca_file;  // PEM trusted besides the system store ("" = system store only; tests)
};

struct HttpUrl {
  bool https = false;
  std::string host;    // without brackets for IPv6 literals
  std::string port;    // "80" / "443" unless given
  std::string target;  // path + query, at least "/"
  std::string host_header() const;
};

// "http(s)://host[:port][/path][?query][#fragment]"; nullopt for other schemes, user info,
// empty hosts, bad ports and control characters.
std::optional<HttpUrl> parse_http_url(std::string_view url);
// A Location header against the URL it came from: absolute, scheme-relative ("//h/p"),
// absolute-path ("/p") or relative ("p"). The result is re-parsed (and so re-checked) by the caller.
std::string resolve_location(const HttpUrl& base, std::string_view location);

// One fetch with its own I/O context, on the calling thread.
api::Result<std::vector<uint8_t>> fetch_media(const std::string& url, const MediaFetchOptions& opt);

// The fetcher for api::ImageSourcePolicy; it holds one TLS context for all fetches.
api::ImageFetcher make_media_fetcher(const MediaFetchOptions& opt);

}  // namespace gs::server
