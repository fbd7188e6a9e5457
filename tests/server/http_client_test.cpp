// Implementation of http_client.h (the test CMake builds only *_test.cpp files, so the helper lives
// here), plus checks of its SSE splitting.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/server/http_client.h"
#include "tests/support/test_paths.h"

extern char** environ;

namespace gs::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

HttpResult http_request(int port, const std::string& method, const std::string& target, const std::string& body,
                        const std::map<std::string, std::string>& headers) {
  HttpResult out;
  try {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.expires_after(std::chrono::seconds(30));
    stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    http::request<http::string_body> req(http::string_to_verb(method), target, 11);
    req.set(http::field::host, "127.0.0.1");
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    http::read(stream, buf, parser);
    auto res = parser.release();
    out.status = static_cast<int>(res.result_int());
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers[name] = std::string(f.value());
    }
    out.body = res.body();
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  } catch (const std::exception& e) {
    out.status = 0;
    out.body = e.what();
  }
  return out;
}

std::string raw_exchange(int port, const std::string& bytes, int max_wait_ms) {
  std::string out;
  try {
    net::io_context ioc;
    tcp::socket s(ioc);
    s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    beast::error_code ec;
    net::write(s, net::buffer(bytes), ec);
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(max_wait_ms);
    s.non_blocking(true);
    char buf[4096];
    while (std::chrono::steady_clock::now() < until) {
      size_t n = s.read_some(net::buffer(buf), ec);
      if (ec == net::error::would_block) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      if (ec) break;
      out.append(buf, n);
    }
  } catch (const std::exception&) {
  }
  return out;
}

std::string stream_then_disconnect(int port, const std::string& target, const std::string& body, size_t min_bytes) {
  std::ostringstream req;
  req << "POST " << target << " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
      << body.size() << "\r\n\r\n" << body;
  std::string out;
  net::io_context ioc;
  tcp::socket s(ioc);
  s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  net::write(s, net::buffer(req.str()));
  char buf[4096];
  beast::error_code ec;
  while (out.size() < min_bytes) {
    size_t n = s.read_some(net::buffer(buf), ec);
    if (ec) break;
    out.append(buf, n);
  }
  s.close(ec);
  return out;
}

std::vector<std::string> sse_payloads(const std::string& body) {
  std::vector<std::string> out;
  std::istringstream in(body);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("data: ", 0) == 0) out.push_back(line.substr(6));
  return out;
}

ServerProcess::ServerProcess(const std::vector<std::string>& args) {
  dir_ = temp_dir("server");
  const std::string port_file = dir_ + "/port", log_file = dir_ + "/log";
  std::vector<std::string> argv_s = {bin_path("gemma3n-server"), "--host", "127.0.0.1", "--port", "0",
                                     "--port-file", port_file};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) == 0) pid_ = pid;
  posix_spawn_file_actions_destroy(&fa);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (pid_ > 0 && std::chrono::steady_clock::now() < until) {
    std::ifstream in(port_file);
    if (in >> port_) break;
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) terminate(5);
}

int ServerProcess::terminate(double timeout_s) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  int st = 0;
  while (std::chrono::steady_clock::now() < until) {
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid_, SIGKILL);
  waitpid(pid_, &st, 0);
  pid_ = -1;
  return -1;
}

std::string ServerProcess::log() const {
  std::ifstream in(dir_ + "/log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool ServerProcess::wait_ready(double timeout_s) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (port_ > 0 && std::chrono::steady_clock::now() < until) {
    if (http_request(port_, "GET", "/health").status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

std::string test_model_dir() {
  if (const char* env = std::getenv("GS_TEST_MODEL_DIR"); env && *env) return env;
  const std::string demo = source_path("models/demo");
  if (std::filesystem::exists(demo + "/tokenizer.json")) return demo;
  return "";
}

}  // namespace gs::test

namespace gs::test {
namespace {
TEST(HttpClientHelper, SplitsSsePayloads) {
  EXPECT_EQ(sse_payloads("data: a\n\n: ping\n\ndata: [DONE]\n\n"), (std::vector<std::string>{"a", "[DONE]"}));
}
}  // namespace
}  // namespace gs::test
