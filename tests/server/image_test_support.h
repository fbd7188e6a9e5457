// Shared by the image tests of the server binary: an engine double that decodes images for real
// (runtime/vision decode + 768x768 preprocessing, as MediaRuntime::prepare does), the in-process
// server around it, a tiny loopback HTTP host for fetch tests, and request/pixel helpers.
#pragma once
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "runtime/vision/image_decode.h"
#include "runtime/vision/preprocess.h"
#include "server/app.h"
#include "tests/api/fake_backend.h"
#include "tests/server/live_server.h"
#include "tests/vision/image_writers.h"

namespace gs::test {

class DecodingEngine : public FakeEngine {
 public:
  DecodingEngine() { image_tokens = 256; }
  runtime::Expected<runtime::MediaInput> prepare_media(runtime::MediaInput::Kind kind,
                                                       std::span<const uint8_t> bytes) const override {
    if (kind != runtime::MediaInput::Kind::kImage) return FakeEngine::prepare_media(kind, bytes);
    auto img = runtime::vision::decode_image(bytes);
    if (!img.ok()) return img.error();
    const runtime::vision::PreprocessConfig cfg;
    auto px = runtime::vision::preprocess_image(img.value(), cfg);
    if (!px.ok()) return px.error();
    runtime::MediaInput m;
    m.kind = kind;
    m.data = std::move(px).value();
    m.height = cfg.height;
    m.width = cfg.width;
    return m;
  }
};

// The app on an ephemeral loopback port with a DecodingEngine; `tweak` may change the api
// settings (e.g. inject a different fetcher) before the services are built.
using ImageServer = BasicLiveServer<DecodingEngine>;

inline bool send_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// A loopback HTTP/1.x host: one thread per connection, reads the request head, hands the target
// to `handler(fd, target, stopping)` which writes whatever raw bytes the test wants. With
// read_head false the handler gets the connection untouched (target "") — for TLS.
class LoopbackHost {
 public:
  using Handler = std::function<void(int fd, const std::string& target, const std::atomic<bool>& stopping)>;
  explicit LoopbackHost(Handler h, bool read_head = true) : handler_(std::move(h)), read_head_(read_head) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_fd_, 16) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      return;
    port_ = ntohs(a.sin_port);
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~LoopbackHost() {
    stopping_ = true;
    if (accept_thread_.joinable()) accept_thread_.join();
    ::close(listen_fd_);
    std::vector<std::thread> ts;
    {
      std::lock_guard lk(mu_);
      ts.swap(conns_);
    }
    for (auto& t : ts) t.join();
  }
  int port() const { return port_; }
  std::string url(const std::string& target) const { return "http://127.0.0.1:" + std::to_string(port_) + target; }
  std::vector<std::string> targets() {
    std::lock_guard lk(mu_);
    return targets_;
  }

 private:
  void accept_loop() {
    while (!stopping_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      std::lock_guard lk(mu_);
      conns_.emplace_back([this, fd] { serve(fd); });
    }
  }
  void serve(int fd) {
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (!read_head_) {
      handler_(fd, "", stopping_);
      ::close(fd);
      return;
    }
    std::string head;
    char buf[1024];
    while (head.find("\r\n\r\n") == std::string::npos && head.size() < 65536) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      head.append(buf, static_cast<size_t>(n));
    }
    const size_t sp1 = head.find(' '), sp2 = head.find(' ', sp1 + 1);
    if (sp1 != std::string::npos && sp2 != std::string::npos) {
      const std::string target = head.substr(sp1 + 1, sp2 - sp1 - 1);
      {
        std::lock_guard lk(mu_);
        targets_.push_back(target);
      }
      handler_(fd, target, stopping_);
    }
    ::shutdown(fd, SHUT_RDWR);
    ::close(fd);
  }

  Handler handler_;
  bool read_head_ = true;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
  std::mutex mu_;
  std::vector<std::thread> conns_;
  std::vector<std::string> targets_;
};

inline std::string http_response(int status, const std::string& body, const std::string& extra_headers = "") {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n" + extra_headers + "\r\n" + body;
}

// W x H RGB quadrants: top-left red, top-right green, bottom-left blue, bottom-right white.
inline test::vision::Bytes quadrant_pixels(int w, int h) {
  test::vision::Bytes px(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const bool top = y < h / 2, left = x < w / 2;
      const uint8_t c[3] = {static_cast<uint8_t>(top ? (left ? 255 : 0) : (left ? 0 : 255)),
                            static_cast<uint8_t>(top ? (left ? 0 : 255) : (left ? 0 : 255)),
                            static_cast<uint8_t>(top ? 0 : 255)};
      std::copy(c, c + 3, &px[(static_cast<size_t>(y) * w + x) * 3]);
    }
  return px;
}

// 8-bit RGB PNG of quadrant_pixels (stored deflate, no external encoder).
inline test::vision::Bytes quadrant_png(int w, int h) {
  const auto px = quadrant_pixels(w, h);
  std::vector<test::vision::Bytes> rows;
  for (int y = 0; y < h; ++y) rows.emplace_back(px.begin() + y * w * 3, px.begin() + (y + 1) * w * 3);
  return test::vision::make_png(w, h, 8, 2, rows);
}

struct Rgbf {
  float r, g, b;
};
// Pixel (y, x) of a [3, H, W] MediaInput.
inline Rgbf pixel_at(const runtime::MediaInput& m, int y, int x) {
  const size_t plane = static_cast<size_t>(m.height) * m.width, i = static_cast<size_t>(y) * m.width + x;
  return {m.data[i], m.data[plane + i], m.data[2 * plane + i]};
}
// The centre of quadrant (qx, qy) of a 768x768 input.
inline Rgbf quadrant_centre(const runtime::MediaInput& m, int qx, int qy) {
  return pixel_at(m, m.height / 4 + qy * m.height / 2, m.width / 4 + qx * m.width / 2);
}

inline void expect_rgb(Rgbf got, Rgbf want, float tol, const std::string& what) {
  EXPECT_NEAR(got.r, want.r, tol) << what;
  EXPECT_NEAR(got.g, want.g, tol) << what;
  EXPECT_NEAR(got.b, want.b, tol) << what;
}

inline std::string base64_encode(const std::vector<uint8_t>& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = in[i] << 16 | in[i + 1] << 8 | in[i + 2];
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
  }
  if (i + 1 == in.size()) {
    const uint32_t v = in[i] << 16;
    out += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const uint32_t v = in[i] << 16 | in[i + 1] << 8;
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
  }
  return out;
}

inline std::string data_url(const std::vector<uint8_t>& bytes, const std::string& mime = "image/png") {
  return "data:" + mime + ";base64," + base64_encode(bytes);
}

// One user message per entry of `messages`; each is a list of image URLs after a text part.
inline std::string chat_body(const std::vector<std::vector<std::string>>& messages, bool stream = false) {
  nlohmann::json msgs = nlohmann::json::array();
  for (const auto& urls : messages) {
    nlohmann::json content = nlohmann::json::array({{{"type", "text"}, {"text", "look"}}});
    for (const auto& u : urls) content.push_back({{"type", "image_url"}, {"image_url", {{"url", u}}}});
    msgs.push_back({{"role", "user"}, {"content", content}});
  }
  nlohmann::json body = {{"model", "gemma-test"}, {"messages", msgs}, {"max_tokens", 8}};
  if (stream) body["stream"] = true;
  return body.dump();
}

}  // namespace gs::test
