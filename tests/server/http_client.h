// Tiny blocking HTTP client for the server tests (Beast, loopback only), plus a helper that
// starts the real gemma3n-server binary on an ephemeral port.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace gs::test {

struct HttpResult {
  int status = 0;                               // 0: connection failed / closed without answer
  std::map<std::string, std::string> headers;   // names lower-case
  std::string body;
};

HttpResult http_request(int port, const std::string& method, const std::string& target, const std::string& body = "",
                        const std::map<std::string, std::string>& headers = {});
// Sends raw bytes, returns whatever the server answered before closing (or `max_wait_ms`).
std::string raw_exchange(int port, const std::string& bytes, int max_wait_ms = 3000);
// Starts a streaming request, reads until `min_bytes` of the response arrived, then drops the
// connection. Returns what was read.
std::string stream_then_disconnect(int port, const std::string& target, const std::string& body, size_t min_bytes);
// "data: ..." payloads of an SSE body, in order.
std::vector<std::string> sse_payloads(const std::string& body);

class ServerProcess {
 public:
  // Starts bin/gemma3n-server --host 127.0.0.1 --port 0 --port-file ... plus `args`, waits for the
  // port file (up to 20 s). port() is 0 if it did not come up.
  explicit ServerProcess(const std::vector<std::string>& args);
  ~ServerProcess();
  int port() const { return port_; }
  // SIGTERM; returns the exit status (or -1 on timeout, after which it is killed).
  int terminate(double timeout_s = 15);
  std::string log() const;
  // Polls /health until 200 (true) or `timeout_s`.
  bool wait_ready(double timeout_s);

 private:
  int pid_ = -1;
  int port_ = 0;
  std::string dir_;
};

// Model directory for tests that need a real model: $GS_TEST_MODEL_DIR, else models/demo in the
// source tree if it has a tokenizer; "" when none is available.
std::string test_model_dir();

}  // namespace gs::test
