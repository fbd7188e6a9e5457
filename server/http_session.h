// One TCP connection: reads requests with per-phase timeouts and a body limit (413; multipart/form-data
// uploads get max_upload_bytes, everything else max_body_bytes), routes
// them through auth/CORS to the api handlers, and writes plain, deferred or SSE (chunked)
// responses. Everything runs on the connection's strand; engine-thread callbacks post onto it.
// A peer that closes while a generation runs cancels it (socket read-readiness watch).
#pragma once
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>

#include "api/http_types.h"
#include "server/server_context.h"

namespace gs::server {

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<ServerContext> ctx);
  void run();

 private:
  using error_code = boost::beast::error_code;
  void read_header(bool first);
  void on_header(error_code ec);
  void read_body();
  void on_body(error_code ec);
  void handle_request();
  api::Response route_request();
  void write_response(api::Response r);
  void start_pending(std::shared_ptr<api::PendingResponse> p, std::vector<std::pair<std::string, std::string>> headers);
  void start_stream(api::Response r);
  void pump_stream();
  void arm_heartbeat();
  void watch_peer();
  void finish_request(int status, bool close_after);
  void send_error_and_close(int status, const std::string& message, const std::string& code);
  void close();
  void linger();

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::shared_ptr<ServerContext> ctx_;

  api::Request req_;
  std::string route_;
  std::chrono::steady_clock::time_point start_;
  bool keep_alive_ = true;
  bool body_upload_ = false;                      // multipart/form-data: max_upload_bytes applies
  bool in_request_ = false;
  bool closing_ = false;
  std::shared_ptr<api::Cancellable> in_flight_;   // pending or stream, cancelled if the peer leaves
  std::shared_ptr<api::PendingResponse> pending_;  // the same pending answer, detached if the peer leaves
  uint64_t request_seq_ = 0;                      // tells stale peer-watch callbacks apart

  std::shared_ptr<api::SseChannel> channel_;
  boost::asio::steady_timer heartbeat_;           // SSE comment while the model is silent (long prefill)
  std::chrono::steady_clock::time_point last_write_;
  std::deque<std::string> frames_;
  bool writing_ = false, stream_closed_ = false;
  std::shared_ptr<boost::beast::http::response<boost::beast::http::empty_body>> sse_head_;
  std::shared_ptr<boost::beast::http::response_serializer<boost::beast::http::empty_body>> sse_serializer_;
};

}  // namespace gs::server
