#include "server/media_fetch.h"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <chrono>
#include <memory>
#include <stdexcept>

namespace gs::server {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

// "scheme:" before any '/', '?' or '#'.
bool has_scheme(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == ':') return i > 0;
    if (!(std::isalnum(c) || ((c == '+' || c == '-' || c == '.') && i > 0))) return false;
  }
  return false;
}

bool valid_host(std::string_view h, bool bracketed) {
  if (h.empty()) return false;
  for (unsigned char c : h)
    if (!(std::isalnum(c) || c == '-' || c == '.' || c == '_' || (bracketed && c == ':'))) return false;
  return true;
}

api::ApiError fetch_error(const std::string& what) {
  return api::bad_request("could not fetch the image_url: " + what, std::nullopt, "invalid_value");
}

// A refusal decided by us (not a socket error); caught at the top of the fetch.
struct FetchFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Hop {
  int status = 0;
  std::string location;
  std::vector<uint8_t> body;
};

struct Outcome {
  bool done = false;
  std::vector<uint8_t> body;
  std::optional<api::ApiError> error;
};

std::string timeout_text(double s) { return fmt::format("timed out after {:g} s", s); }

std::string limit_text(int64_t max_bytes) { return "the image is larger than the limit of " + std::to_string(max_bytes) + " bytes"; }

template <class Stream>
net::awaitable<Hop> exchange(Stream& stream, const HttpUrl& url, const MediaFetchOptions& opt, Clock::time_point deadline) {
  http::request<http::empty_body> req{http::verb::get, url.target, 11};
  req.set(http::field::host, url.host_header());
  req.set(http::field::user_agent, "gemma3n-server");
  req.set(http::field::accept, "image/*, */*;q=0.5");
  req.set(http::field::connection, "close");
  beast::get_lowest_layer(stream).expires_at(deadline);
  co_await http::async_write(stream, req, net::use_awaitable);
  beast::flat_buffer buf;
  http::response_parser<http::vector_body<uint8_t>> parser;
  parser.header_limit(16 * 1024);
  // Also refuses a larger Content-Length while the header is parsed, before any body byte is read.
  parser.body_limit(static_cast<uint64_t>(opt.max_bytes));
  co_await http::async_read_header(stream, buf, parser, net::use_awaitable);
  Hop hop;
  hop.status = parser.get().result_int();
  if (hop.status >= 300 && hop.status < 400) hop.location = std::string(parser.get()[http::field::location]);
  if (hop.status < 200 || hop.status >= 300) co_return hop;
  if (auto n = parser.content_length(); n && *n > static_cast<uint64_t>(opt.max_bytes))
    throw FetchFailure(limit_text(opt.max_bytes));
  co_await http::async_read(stream, buf, parser, net::use_awaitable);
  hop.body = std::move(parser.get().body());
  co_return hop;
}

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  (void)net::ip::make_address(host, ec);
  return !ec;
}

net::awaitable<Hop> one_hop(const HttpUrl& url, ssl::context& tls, const MediaFetchOptions& opt, Clock::time_point deadline) {
  auto ex = co_await net::this_coro::executor;
  // getaddrinfo has no timeout of its own: the caller's run_for bounds the whole fetch.
  tcp::resolver resolver(ex);
  auto endpoints = co_await resolver.async_resolve(url.host, url.port, net::use_awaitable);
  if (!url.https) {
    beast::tcp_stream s(ex);
    s.expires_at(deadline);
    co_await s.async_connect(endpoints, net::use_awaitable);
    co_return co_await exchange(s, url, opt, deadline);
  }
  beast::ssl_stream<beast::tcp_stream> s(ex, tls);
  // SNI only for names (RFC 6066 forbids IP literals there); the certificate is checked either way.
  if (!is_ip_literal(url.host) && !SSL_set_tlsext_host_name(s.native_handle(), url.host.c_str()))
    throw FetchFailure("cannot set the TLS server name");
  s.set_verify_mode(ssl::verify_peer);
  s.set_verify_callback(ssl::host_name_verification(url.host));
  beast::get_lowest_layer(s).expires_at(deadline);
  co_await beast::get_lowest_layer(s).async_connect(endpoints, net::use_awaitable);
  co_await s.async_handshake(ssl::stream_base::client, net::use_awaitable);
  co_return co_await exchange(s, url, opt, deadline);
}

std::string describe(const boost::system::error_code& ec, const MediaFetchOptions& opt) {
  if (ec == beast::error::timeout) return timeout_text(opt.timeout_s);
  if (ec == http::error::body_limit) return limit_text(opt.max_bytes);
  if (ec.category() == net::error::get_ssl_category() || ec.category() == ssl::error::get_stream_category())
    return "TLS error: " + ec.message();
  return ec.message();
}

net::awaitable<void> fetch_all(std::string url, ssl::context& tls, const MediaFetchOptions& opt,
                               Clock::time_point deadline, Outcome& out) {
  try {
    for (int redirects = 0;; ++redirects) {
      auto u = parse_http_url(url);
      if (!u) {
        out.error = fetch_error(redirects ? "redirected to a URL that is not http(s)" : "not a valid http(s) URL");
        break;
      }
      Hop h = co_await one_hop(*u, tls, opt, deadline);
      if (h.status >= 300 && h.status < 400 && !h.location.empty()) {
        if (redirects == opt.max_redirects) {
          out.error = fetch_error("more than " + std::to_string(opt.max_redirects) + " redirects");
          break;
        }
        url = resolve_location(*u, h.location);
        continue;
      }
      if (h.status < 200 || h.status >= 300) {
        out.error = fetch_error("the server answered HTTP " + std::to_string(h.status));
        break;
      }
      out.body = std::move(h.body);
      break;
    }
  } catch (const FetchFailure& e) {
    out.error = fetch_error(e.what());
  } catch (const boost::system::system_error& e) {
    out.error = fetch_error(describe(e.code(), opt));
  } catch (const std::exception& e) {
    out.error = fetch_error(e.what());
  }
  out.done = true;
}

std::shared_ptr<ssl::context> make_tls_context(const MediaFetchOptions& opt) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  boost::system::error_code ec;
  ctx->set_default_verify_paths(ec);
  if (ec) spdlog::warn("image fetch: cannot load the system CA certificates: {}", ec.message());
  if (!opt.extra_ca_file.empty()) {
    ctx->load_verify_file(opt.extra_ca_file, ec);
    if (ec) spdlog::warn("image fetch: cannot load {}: {}", opt.extra_ca_file, ec.message());
  }
  ctx->set_verify_mode(ssl::verify_peer);
  return ctx;
}

api::Result<std::vector<uint8_t>> fetch_with(const std::string& url, ssl::context& tls, const MediaFetchOptions& opt) {
  const auto timeout = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt.timeout_s));
  const auto deadline = Clock::now() + timeout;
  Outcome out;  // declared before the io_context: the coroutine writes it until the context dies
  {
    net::io_context ioc;
    net::co_spawn(ioc, fetch_all(url, tls, opt, deadline, out), net::detached);
    // Socket operations expire at `deadline` themselves; this also bounds name resolution.
    ioc.run_for(timeout + std::chrono::milliseconds(250));
  }
  if (!out.done) return fetch_error(timeout_text(opt.timeout_s));
  if (out.error) return *out.error;
  return std::move(out.body);
}

}  // namespace

std::string HttpUrl::host_header() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != (https ? "443" : "80")) h += ":" + port;
  return h;
}

std::optional<HttpUrl> parse_http_url(std::string_view url) {
  for (unsigned char c : url)
    if (c <= 0x20 || c >= 0x7F) return std::nullopt;
  HttpUrl u;
  if (starts_with_nocase(url, "http://")) url.remove_prefix(7);
  else if (starts_with_nocase(url, "https://")) url.remove_prefix(8), u.https = true;
  else return std::nullopt;
  const size_t end = url.find_first_of("/?#");
  const std::string_view auth = url.substr(0, end);
  std::string_view rest = end == std::string_view::npos ? std::string_view{} : url.substr(end);
  if (auth.find('@') != std::string_view::npos) return std::nullopt;  // no credentials in URLs
  std::string_view host, port;
  const bool bracketed = !auth.empty() && auth[0] == '[';
  if (bracketed) {
    const size_t close = auth.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = auth.substr(1, close - 1);
    const std::string_view after = auth.substr(close + 1);
    if (!after.empty() && after[0] != ':') return std::nullopt;
    if (!after.empty()) port = after.substr(1);
    if (after == ":") return std::nullopt;
  } else {
    const size_t colon = auth.rfind(':');
    host = auth.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = auth.substr(colon + 1);
      if (port.empty()) return std::nullopt;
    }
  }
  if (!valid_host(host, bracketed)) return std::nullopt;
  if (!port.empty()) {
    if (port.size() > 5) return std::nullopt;
    int p = 0;
    for (unsigned char c : port) {
      if (!std::isdigit(c)) return std::nullopt;
      p = p * 10 + (c - '0');
    }
    if (p < 1 || p > 65535) return std::nullopt;
    u.port = std::to_string(p);
  } else {
    u.port = u.https ? "443" : "80";
  }
  for (unsigned char c : host) u.host.push_back(static_cast<char>(std::tolower(c)));
  rest = rest.substr(0, rest.find('#'));
  u.target = rest.empty() || rest[0] != '/' ? "/" + std::string(rest) : std::string(rest);
  return u;
}

std::string resolve_location(const HttpUrl& base, std::string_view location) {
  if (has_scheme(location)) return std::string(location);
  const std::string scheme = base.https ? "https:" : "http:";
  if (location.substr(0, 2) == "//") return scheme + std::string(location);
  const std::string origin = scheme + "//" + base.host_header();
  if (!location.empty() && location[0] == '/') return origin + std::string(location);
  std::string dir = base.target.substr(0, base.target.find('?'));
  dir = dir.substr(0, dir.rfind('/') + 1);
  return origin + dir + std::string(location);
}

api::Result<std::vector<uint8_t>> fetch_media(const std::string& url, const MediaFetchOptions& opt) {
  auto tls = make_tls_context(opt);
  return fetch_with(url, *tls, opt);
}

api::ImageFetcher make_media_fetcher(const MediaFetchOptions& opt) {
  std::shared_ptr<ssl::context> tls = make_tls_context(opt);
  return [tls, opt](const std::string& url) { return fetch_with(url, *tls, opt); };
}

}  // namespace gs::server
