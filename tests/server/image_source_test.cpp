// Remote and local image_url sources end to end, loopback only: server/media_fetch.cpp against a
// test HTTP(S) host (PNG, slow body, huge Content-Length, oversized chunked body, 404, redirect
// chains, redirects to other schemes, TLS with a self-signed certificate), then the chat endpoint
// with fetching off/on and with --image-dir confinement, the engine double decoding for real.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "server/media_fetch.h"
#include "tests/server/http_client.h"
#include "tests/server/image_test_support.h"
#include "tests/support/test_paths.h"

namespace gs::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using server::fetch_media;
using server::MediaFetchOptions;
using Clock = std::chrono::steady_clock;

const std::string kParam0 = "messages[0].content[1].image_url.url";

std::string as_string(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The routes every fetch test uses; `port` is the host's own port (for absolute redirects).
void image_routes(int fd, const std::string& target, const std::atomic<bool>& stopping, const std::string& png,
                  const std::atomic<int>& port) {
  auto redirect = [&](int status, const std::string& location) {
    send_all(fd, http_response(status, "", "Location: " + location + "\r\n"));
  };
  if (target == "/img.png" || target == "/rel/y") {
    send_all(fd, http_response(200, png, "Content-Type: image/png\r\n"));
  } else if (target == "/octet") {
    send_all(fd, http_response(200, png, "Content-Type: application/octet-stream\r\n"));
  } else if (target == "/noclen.png") {
    send_all(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + png);
  } else if (target == "/slow.png") {
    if (!send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(png.size()) + "\r\n\r\n")) return;
    for (char c : png) {
      if (stopping || !send_all(fd, std::string(1, c))) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  } else if (target == "/huge.png") {
    send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 999999999999\r\n\r\n0123456789");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  } else if (target == "/chunked.png") {
    std::string out = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 64; ++i) out += "3e8\r\n" + std::string(1000, 'x') + "\r\n";
    send_all(fd, out + "0\r\n\r\n");
  } else if (target.rfind("/r/", 0) == 0) {
    const int n = std::stoi(target.substr(3));
    redirect(n % 2 ? 301 : 302, n == 0 ? "http://127.0.0.1:" + std::to_string(port.load()) + "/img.png"
                                       : "/r/" + std::to_string(n - 1));
  } else if (target == "/rel/x") {
    redirect(307, "y");
  } else if (target == "/to-file") {
    redirect(302, "file:///etc/passwd");
  } else if (target == "/to-data") {
    redirect(302, "data:image/png;base64,iVBORw0KGgo=");
  } else if (target == "/no-location") {
    send_all(fd, http_response(302, ""));
  } else if (target == "/text") {
    send_all(fd, http_response(200, "hello, not an image", "Content-Type: text/plain\r\n"));
  } else {
    send_all(fd, http_response(404, "not found"));
  }
}

struct ImageHost {
  std::string png = as_string(quadrant_png(64, 64));
  std::atomic<int> port_value{0};
  LoopbackHost host{[this](int fd, const std::string& t, const std::atomic<bool>& s) {
    image_routes(fd, t, s, png, port_value);
  }};
  ImageHost() { port_value = host.port(); }
  std::string url(const std::string& target) const { return host.url(target); }
};

MediaFetchOptions options(double timeout_s = 5, int64_t max_bytes = 1 << 20) {
  MediaFetchOptions o;
  o.timeout_s = timeout_s;
  o.max_bytes = max_bytes;
  return o;
}

TEST(MediaFetch, UrlParsing) {
  auto u = server::parse_http_url("HTTPS://Example.COM:8443/a/b.png?x=1#frag");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->https);
  EXPECT_EQ(u->host, "example.com");
  EXPECT_EQ(u->port, "8443");
  EXPECT_EQ(u->target, "/a/b.png?x=1");
  EXPECT_EQ(u->host_header(), "example.com:8443");
  auto v6 = server::parse_http_url("http://[::1]:8080?q");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->target, "/?q");
  EXPECT_EQ(v6->host_header(), "[::1]:8080");
  auto plain = server::parse_http_url("http://h");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->port, "80");
  EXPECT_EQ(plain->target, "/");
  EXPECT_EQ(plain->host_header(), "h");
  for (const char* bad : {"ftp://h/x", "http://", "http:///x", "http://u:p@h/x", "http://h:0/", "http://h:65536/",
                          "http://h:/", "http://h:8x/", "http://[::1/", "http://h/a b", "http://h%2f/", "file:///etc/passwd",
                          "http://h\r\nX-Evil: 1/"})
    EXPECT_FALSE(server::parse_http_url(bad)) << bad;
}

TEST(MediaFetch, RedirectTargetsResolveAgainstTheirBase) {
  const auto base = *server::parse_http_url("https://h:444/dir/page.png?q=1");
  EXPECT_EQ(server::resolve_location(base, "http://o/x"), "http://o/x");
  EXPECT_EQ(server::resolve_location(base, "//o/x"), "https://o/x");
  EXPECT_EQ(server::resolve_location(base, "/x"), "https://h:444/x");
  EXPECT_EQ(server::resolve_location(base, "x.png"), "https://h:444/dir/x.png");
  EXPECT_EQ(server::resolve_location(base, "file:///etc/passwd"), "file:///etc/passwd");  // re-checked, refused
}

TEST(MediaFetch, ServesPngWithAndWithoutContentLength) {
  ImageHost h;
  for (const char* t : {"/img.png", "/noclen.png", "/octet"}) {
    auto r = fetch_media(h.url(t), options());
    ASSERT_TRUE(r.ok()) << t << ": " << r.error().message;
    EXPECT_EQ(as_string(r.value()), h.png) << t;
  }
}

TEST(MediaFetch, SlowBodyTimesOut) {
  ImageHost h;
  const auto t0 = Clock::now();
  auto r = fetch_media(h.url("/slow.png"), options(0.5));
  const double took = seconds_since(t0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 400);
  EXPECT_NE(r.error().message.find("timed out"), std::string::npos) << r.error().message;
  EXPECT_GE(took, 0.45);
  EXPECT_LT(took, 2.0);
}

TEST(MediaFetch, SizeLimitBeforeAndWhileReading) {
  ImageHost h;
  const auto t0 = Clock::now();
  auto huge = fetch_media(h.url("/huge.png"), options(5, 1 << 20));
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.error().message.find("larger than the limit of 1048576 bytes"), std::string::npos)
      << huge.error().message;
  EXPECT_LT(seconds_since(t0), 0.3);  // refused on the header, not after the server gave up
  auto chunked = fetch_media(h.url("/chunked.png"), options(5, 16 << 10));
  ASSERT_FALSE(chunked.ok());
  EXPECT_NE(chunked.error().message.find("larger than the limit"), std::string::npos) << chunked.error().message;
  auto small = fetch_media(h.url("/img.png"), options(5, static_cast<int64_t>(h.png.size()) - 1));
  ASSERT_FALSE(small.ok());
  EXPECT_TRUE(fetch_media(h.url("/img.png"), options(5, static_cast<int64_t>(h.png.size()))).ok());
}

TEST(MediaFetch, NonSuccessStatusIsNamed) {
  ImageHost h;
  auto r = fetch_media(h.url("/missing.png"), options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 400);
  EXPECT_NE(r.error().message.find("HTTP 404"), std::string::npos) << r.error().message;
  auto noloc = fetch_media(h.url("/no-location"), options());
  ASSERT_FALSE(noloc.ok());
  EXPECT_NE(noloc.error().message.find("HTTP 302"), std::string::npos) << noloc.error().message;
}

TEST(MediaFetch, RedirectsAtMostThreeEachRechecked) {
  ImageHost h;
  auto three = fetch_media(h.url("/r/2"), options());  // r/2 → r/1 → r/0 → absolute img.png
  ASSERT_TRUE(three.ok()) << three.error().message;
  EXPECT_EQ(as_string(three.value()), h.png);
  auto rel = fetch_media(h.url("/rel/x"), options());
  ASSERT_TRUE(rel.ok()) << rel.error().message;
  const size_t before = h.host.targets().size();
  auto four = fetch_media(h.url("/r/3"), options());
  ASSERT_FALSE(four.ok());
  EXPECT_NE(four.error().message.find("more than 3 redirects"), std::string::npos) << four.error().message;
  EXPECT_EQ(h.host.targets().size() - before, 4u);  // the fourth Location is never requested
  for (const char* t : {"/to-file", "/to-data"}) {
    auto r = fetch_media(h.url(t), options());
    ASSERT_FALSE(r.ok()) << t;
    EXPECT_NE(r.error().message.find("not http(s)"), std::string::npos) << r.error().message;
  }
}

TEST(MediaFetch, ConnectionFailuresAreValues) {
  int closed_port = 0;
  {
    LoopbackHost gone([](int, const std::string&, const std::atomic<bool>&) {});
    closed_port = gone.port();
  }
  auto r = fetch_media("http://127.0.0.1:" + std::to_string(closed_port) + "/x.png", options(2));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 400);
  // TLS spoken to a plain HTTP host (which answers at once, without waiting for a request).
  LoopbackHost plain([](int fd, const std::string&, const std::atomic<bool>&) { send_all(fd, http_response(200, "x")); },
                     /*read_head=*/false);
  auto tls = fetch_media("https://127.0.0.1:" + std::to_string(plain.port()) + "/img.png", options(5));
  ASSERT_FALSE(tls.ok());
  EXPECT_NE(tls.error().message.find("TLS"), std::string::npos) << tls.error().message;
  EXPECT_FALSE(fetch_media("http://user@127.0.0.1/x", options(2)).ok());
}

// ---- HTTPS against a self-signed certificate made at test time -------------------------------

struct TestCert {
  std::string cert_pem, key_pem;
};

std::string bio_string(BIO* b) {
  char* p = nullptr;
  const long n = BIO_get_mem_data(b, &p);
  std::string s(p, static_cast<size_t>(n));
  BIO_free(b);
  return s;
}

TestCert make_cert(const char* subject_alt_names) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("gs-test"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, subject_alt_names}, {NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(x, key, EVP_sha256());
  BIO* cb = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cb, x);
  BIO* kb = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(kb, key, nullptr, nullptr, 0, nullptr, nullptr);
  X509_free(x);
  EVP_PKEY_free(key);
  return {bio_string(cb), bio_string(kb)};
}

// A loopback HTTPS host serving the quadrant PNG for any target (OpenSSL directly, blocking).
struct TlsHost {
  std::string png = as_string(quadrant_png(64, 64));
  SSL_CTX* ctx = nullptr;
  std::unique_ptr<LoopbackHost> host;
  explicit TlsHost(const TestCert& cert) {
    ctx = SSL_CTX_new(TLS_server_method());
    BIO* cb = BIO_new_mem_buf(cert.cert_pem.data(), static_cast<int>(cert.cert_pem.size()));
    X509* x = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
    BIO* kb = BIO_new_mem_buf(cert.key_pem.data(), static_cast<int>(cert.key_pem.size()));
    EVP_PKEY* k = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
    SSL_CTX_use_certificate(ctx, x);
    SSL_CTX_use_PrivateKey(ctx, k);
    X509_free(x), EVP_PKEY_free(k), BIO_free(cb), BIO_free(kb);
    host = std::make_unique<LoopbackHost>([this](int fd, const std::string&, const std::atomic<bool>&) { serve(fd); },
                                          /*read_head=*/false);
  }
  ~TlsHost() {
    host.reset();
    SSL_CTX_free(ctx);
  }
  void serve(int fd) {
    SSL* s = SSL_new(ctx);
    SSL_set_fd(s, fd);
    if (SSL_accept(s) == 1) {
      std::string head;
      char buf[1024];
      while (head.find("\r\n\r\n") == std::string::npos) {
        const int n = SSL_read(s, buf, sizeof buf);
        if (n <= 0) break;
        head.append(buf, static_cast<size_t>(n));
      }
      const std::string res = http_response(200, png);
      SSL_write(s, res.data(), static_cast<int>(res.size()));
      SSL_shutdown(s);
    }
    SSL_free(s);
  }
  std::string url(const std::string& host_name) const {
    return "https://" + host_name + ":" + std::to_string(host->port()) + "/img.png";
  }
};

TEST(MediaFetch, HttpsVerifiesThePeerAndTheName) {
  const std::string dir = temp_dir("tls");
  const TestCert good = make_cert("IP:127.0.0.1,DNS:localhost");
  std::ofstream(dir + "/ca.pem") << good.cert_pem;
  TlsHost h(good);
  auto o = options(5);
  o.extra_ca_file = dir + "/ca.pem";
  auto ok = fetch_media(h.url("127.0.0.1"), o);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(as_string(ok.value()), h.png);
  auto by_name = fetch_media(h.url("localhost"), o);  // SNI + DNS name check
  ASSERT_TRUE(by_name.ok()) << by_name.error().message;
  // Not in the trust store (system CAs only): refused.
  auto untrusted = fetch_media(h.url("127.0.0.1"), options(5));
  ASSERT_FALSE(untrusted.ok());
  EXPECT_NE(untrusted.error().message.find("TLS"), std::string::npos) << untrusted.error().message;
  // Trusted, but issued for another name.
  const TestCert other = make_cert("DNS:images.example");
  std::ofstream(dir + "/other.pem") << other.cert_pem;
  TlsHost wrong(other);
  auto o2 = options(5);
  o2.extra_ca_file = dir + "/other.pem";
  auto mismatch = fetch_media(wrong.url("127.0.0.1"), o2);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.error().message.find("TLS"), std::string::npos) << mismatch.error().message;
  fs::remove_all(dir);
}

// ---- the chat endpoint -----------------------------------------------------------------------

void expect_400(const HttpResult& r, const std::string& param, const std::string& needle) {
  ASSERT_EQ(r.status, 400) << r.body;
  const auto e = json::parse(r.body)["error"];
  EXPECT_EQ(e["type"], "invalid_request_error");
  EXPECT_EQ(e["param"], param);
  EXPECT_NE(e["message"].get<std::string>().find(needle), std::string::npos) << e["message"];
}

void expect_quadrants(const runtime::MediaInput& m) {
  ASSERT_EQ(m.height, 768);
  ASSERT_EQ(m.width, 768);
  ASSERT_EQ(m.data.size(), 3u * 768 * 768);
  const Rgbf tl = quadrant_centre(m, 0, 0), tr = quadrant_centre(m, 1, 0), bl = quadrant_centre(m, 0, 1),
             br = quadrant_centre(m, 1, 1);
  // Lossless source, centres far from the edges: the resize reproduces the flat colours exactly.
  expect_rgb(tl, {1, 0, 0}, 0, "top-left red");
  expect_rgb(tr, {0, 1, 0}, 0, "top-right green");
  expect_rgb(bl, {0, 0, 1}, 0, "bottom-left blue");
  expect_rgb(br, {1, 1, 1}, 0, "bottom-right white");
}

HttpResult chat(int port, const std::vector<std::vector<std::string>>& urls) {
  return http_request(port, "POST", "/v1/chat/completions", chat_body(urls));
}

TEST(ChatImageSources, RemoteUrlRefusedWhileFetchingIsOff) {
  ImageHost h;
  ImageServer s;  // default config: --image-fetch off
  expect_400(chat(s.port, {{h.url("/img.png")}}), kParam0, "--image-fetch on");
  expect_400(chat(s.port, {{"HTTPS://images.example/cat.png"}}), kParam0, "--image-fetch on");
  EXPECT_TRUE(h.host.targets().empty());  // nothing was requested
  EXPECT_EQ(s.engine->submitted, 0);
}

TEST(ChatImageSources, RemoteUrlFetchedWhenEnabled) {
  ImageHost h;
  config::ServerConfig cfg;
  cfg.media_sources.fetch_remote = true;
  cfg.media_sources.fetch_timeout_s = 0.5;
  cfg.media_sources.fetch_max_bytes = 1 << 20;
  ImageServer s(cfg);
  auto ok = chat(s.port, {{h.url("/img.png")}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(json::parse(ok.body)["usage"]["prompt_tokens_details"]["image_tokens"], 256);
  auto seen = s.seen();
  ASSERT_EQ(seen.size(), 1u);
  ASSERT_EQ(seen[0].media.size(), 1u);
  expect_quadrants(seen[0].media[0]);
  auto redirected = chat(s.port, {{h.url("/r/2")}});
  EXPECT_EQ(redirected.status, 200) << redirected.body;

  expect_400(chat(s.port, {{h.url("/missing.png")}}), kParam0, "HTTP 404");
  expect_400(chat(s.port, {{h.url("/r/3")}}), kParam0, "more than 3 redirects");
  expect_400(chat(s.port, {{h.url("/huge.png")}}), kParam0, "larger than the limit");
  expect_400(chat(s.port, {{h.url("/slow.png")}}), kParam0, "timed out");
  expect_400(chat(s.port, {{h.url("/to-file")}}), kParam0, "not http(s)");
  auto text = chat(s.port, {{h.url("/text")}});  // content type is not checked: the decoder refuses
  ASSERT_EQ(text.status, 400);
  EXPECT_EQ(json::parse(text.body)["error"]["param"], kParam0);
  // The second image of the second message names its own location.
  expect_400(chat(s.port, {{h.url("/img.png")}, {h.url("/img.png"), h.url("/missing.png")}}),
             "messages[1].content[2].image_url.url", "HTTP 404");
  EXPECT_EQ(s.engine->submitted, 2);
  EXPECT_EQ(http_request(s.port, "GET", "/health").status, 200);
}

struct ImageDir {
  fs::path root = temp_dir("imgdir");
  fs::path dir = root / "images";
  ImageDir() {
    fs::create_directories(dir / "sub");
    const auto png = quadrant_png(64, 64);
    std::ofstream(dir / "q.png", std::ios::binary).write(reinterpret_cast<const char*>(png.data()), png.size());
    std::ofstream(root / "outside.png", std::ios::binary).write(reinterpret_cast<const char*>(png.data()), png.size());
    fs::create_symlink(root / "outside.png", dir / "escape.png");
    fs::create_symlink(dir / "q.png", dir / "sub" / "inside.png");
  }
  ~ImageDir() { fs::remove_all(root); }
};

TEST(ChatImageSources, LocalFilesOnlyUnderImageDir) {
  ImageDir d;
  config::ServerConfig cfg;
  cfg.media_sources.image_dir = d.dir.string();
  ImageServer s(cfg);
  const std::string dir = d.dir.string();
  for (const std::string& ok : {dir + "/q.png", "file://" + dir + "/q.png", dir + "/sub/../q.png", dir + "/sub/inside.png"}) {
    auto r = chat(s.port, {{ok}});
    ASSERT_EQ(r.status, 200) << ok << " " << r.body;
  }
  auto seen = s.seen();
  ASSERT_EQ(seen.size(), 4u);
  expect_quadrants(seen[1].media[0]);
  std::string first_message;
  for (const std::string& bad : {dir + "/../outside.png", dir + "/sub/../../outside.png", dir + "/escape.png",
                                 (d.root / "outside.png").string(), dir + "/nope.png", "file://" + dir + "/nope.png",
                                 std::string("/etc/passwd")}) {
    auto r = chat(s.port, {{bad}});
    expect_400(r, kParam0, "--image-dir");
    const std::string message = json::parse(r.body)["error"]["message"];
    if (first_message.empty()) first_message = message;
    EXPECT_EQ(message, first_message) << bad;  // existing and missing files answer alike
  }
  ImageServer no_dir;  // image_dir unset
  expect_400(chat(no_dir.port, {{dir + "/q.png"}}), kParam0, "not allowed");
  expect_400(chat(no_dir.port, {{"file://" + dir + "/q.png"}}), kParam0, "not allowed");
}

// Two slow image fetches at once (as many as there are I/O threads) must not stall the server:
// media is prepared on the media workers, so /health answers at once meanwhile.
TEST(ChatImageSources, SlowFetchesDoNotBlockTheIoThreads) {
  ImageHost h;
  config::ServerConfig cfg;
  cfg.media_sources.fetch_remote = true;
  cfg.media_sources.fetch_timeout_s = 3;
  ImageServer s(cfg);
  std::vector<std::thread> slow;
  std::atomic<int> done{0};
  for (int i = 0; i < 2; ++i)
    slow.emplace_back([&] {
      chat(s.port, {{h.url("/slow.png")}});
      ++done;
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // both fetches under way
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(http_request(s.port, "GET", "/health").status, 200);
  const double health_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(done.load(), 0);  // the fetches were still running while /health answered
  EXPECT_LT(health_s, 1.0);
  for (auto& t : slow) t.join();
}

}  // namespace
}  // namespace gs::server
