#include "server/http_session.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <random>
#include <spdlog/spdlog.h>

#include "api/errors.h"
#include "server/middleware/access_log.h"
#include "server/middleware/auth.h"
#include "server/middleware/cors.h"

namespace gs::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

std::string new_request_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  std::string id = "req-";
  for (int i = 0; i < 16; ++i) id += hex[rng() & 15];
  return id;
}

// A client-supplied x-request-id is echoed only if it is short and printable (it goes to logs).
std::string pick_request_id(const api::Request& r) {
  if (const std::string* h = r.header("x-request-id"); h && !h->empty() && h->size() <= 64) {
    bool ok = true;
    for (char c : *h) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
    if (ok) return *h;
  }
  return new_request_id();
}

// Uploads (max_upload_bytes) are multipart/form-data bodies sent to the audio endpoints; anything
// else, multipart or not, keeps max_body_bytes.
bool is_upload(const http::request<http::string_body>& h) {
  const beast::string_view ct = h[http::field::content_type];
  const beast::string_view prefix = "multipart/form-data";
  return h.target().starts_with("/v1/audio/") && ct.size() >= prefix.size() &&
         beast::iequals(ct.substr(0, prefix.size()), prefix);
}

std::string too_large_message(bool upload, uint64_t limit) {
  if (upload) return "upload too large: the limit is " + std::to_string(limit) + " bytes (--max-upload-bytes)";
  return "request body too large: the limit is " + std::to_string(limit) + " bytes (--max-body-bytes)";
}

}  // namespace

HttpSession::HttpSession(net::ip::tcp::socket&& socket, std::shared_ptr<ServerContext> ctx)
    : stream_(std::move(socket)), ctx_(std::move(ctx)), heartbeat_(stream_.get_executor()) {}

void HttpSession::run() {
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_header(true); });
}

void HttpSession::read_header(bool first) {
  if (ctx_->shutting_down) return close();
  parser_.emplace();
  parser_->header_limit(16 * 1024);
  // The header decides which limit applies (on_header); until then allow the larger one so that
  // Beast's own Content-Length check does not answer for us.
  parser_->body_limit(static_cast<uint64_t>(std::max(ctx_->limits.max_body_bytes, ctx_->limits.max_upload_bytes)));
  stream_.expires_after(first ? ctx_->limits.header_timeout : ctx_->limits.idle_timeout);
  http::async_read_header(stream_, buffer_, *parser_, [self = shared_from_this()](error_code ec, size_t) {
    self->on_header(ec);
  });
}

void HttpSession::on_header(error_code ec) {
  if (ec == http::error::header_limit) return send_error_and_close(431, "request header too large", "header_too_large");
  if (ec == http::error::body_limit) {  // Content-Length above both limits (Beast checks it while parsing)
    const bool upload = is_upload(parser_->get());
    const int64_t limit = upload ? ctx_->limits.max_upload_bytes : ctx_->limits.max_body_bytes;
    return send_error_and_close(413, too_large_message(upload, static_cast<uint64_t>(limit)), "request_too_large");
  }
  if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted ||
      ec == http::error::partial_message)
    return close();
  if (ec && ec.category() == beast::http::make_error_code(http::error::bad_method).category())
    return send_error_and_close(400, "malformed HTTP request: " + ec.message(), "bad_http_request");
  if (ec) return close();
  // Content-Length over the limit: refuse before reading a byte of the body. Multipart uploads
  // (audio files) have their own, usually larger, limit.
  const bool upload = is_upload(parser_->get());
  const uint64_t limit = static_cast<uint64_t>(upload ? ctx_->limits.max_upload_bytes : ctx_->limits.max_body_bytes);
  if (auto len = parser_->content_length(); len && *len > limit)
    return send_error_and_close(413, too_large_message(upload, limit), "request_too_large");
  parser_->body_limit(limit);
  body_upload_ = upload;
  stream_.expires_after(ctx_->limits.body_timeout);
  if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
    // curl waits a second for this before sending bodies over 1 KiB.
    static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    return net::async_write(stream_, net::buffer(kContinue), [self = shared_from_this()](error_code ec2, size_t) {
      if (ec2) return self->close();
      self->read_body();
    });
  }
  read_body();
}

void HttpSession::read_body() {
  http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](error_code ec, size_t) {
    self->on_body(ec);
  });
}

void HttpSession::on_body(error_code ec) {
  if (ec == http::error::body_limit) {
    const int64_t limit = body_upload_ ? ctx_->limits.max_upload_bytes : ctx_->limits.max_body_bytes;
    return send_error_and_close(413, too_large_message(body_upload_, static_cast<uint64_t>(limit)), "request_too_large");
  }
  if (ec == beast::error::timeout || ec == http::error::end_of_stream || ec == net::error::operation_aborted) return close();
  if (ec) return send_error_and_close(400, "malformed HTTP request: " + ec.message(), "bad_http_request");
  handle_request();
}

void HttpSession::handle_request() {
  auto msg = parser_->release();
  req_ = api::Request{};
  req_.method = std::string(msg.method_string());
  const std::string target(msg.target());
  const size_t q = target.find('?');
  req_.path = target.substr(0, q);
  if (q != std::string::npos) req_.query = target.substr(q + 1);
  for (const auto& f : msg) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    req_.headers[name] = std::string(f.value());
  }
  req_.body = std::move(msg.body());
  req_.id = pick_request_id(req_);
  keep_alive_ = msg.keep_alive();
  start_ = std::chrono::steady_clock::now();
  in_request_ = true;
  ++request_seq_;
  ++ctx_->in_flight;
  stream_.expires_never();
  write_response(route_request());
}

api::Response HttpSession::route_request() {
  if (auto pre = cors_preflight(req_, ctx_->cors_origin)) {
    route_ = "preflight";
    return *pre;
  }
  api::Response r;
  if (auto denied = check_auth(req_, ctx_->api_key)) {
    route_ = "unauthorized";
    r = std::move(*denied);
  } else {
    r = ctx_->router.dispatch(req_, *ctx_->services, route_);
  }
  add_cors_headers(req_, ctx_->cors_origin, r);
  return r;
}

void HttpSession::write_response(api::Response r) {
  if (r.pending) return start_pending(std::move(r.pending), std::move(r.headers));
  if (r.stream) return start_stream(std::move(r));
  auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status), 11);
  res->set(http::field::server, "gemma3n-server");
  if (!r.content_type.empty()) res->set(http::field::content_type, r.content_type);
  res->set("x-request-id", req_.id);
  for (const auto& [k, v] : r.headers) res->set(k, v);
  const bool close_after = !keep_alive_ || ctx_->shutting_down;
  res->keep_alive(!close_after);
  res->body() = std::move(r.body);
  res->prepare_payload();
  const int status = r.status;
  stream_.expires_after(ctx_->limits.write_timeout);
  http::async_write(stream_, *res, [self = shared_from_this(), res, status, close_after](error_code ec, size_t) {
    self->finish_request(status, close_after || static_cast<bool>(ec));
  });
}

// `headers`: set by the handler before the answer was ready (e.g. the MatFormer size); they go on
// the final response too.
void HttpSession::start_pending(std::shared_ptr<api::PendingResponse> p,
                                std::vector<std::pair<std::string, std::string>> headers) {
  in_flight_ = p;
  pending_ = p;
  watch_peer();
  p->on_complete([self = shared_from_this(), headers = std::move(headers)](api::Response r) {
    net::post(self->stream_.get_executor(), [self, r = std::move(r), headers]() mutable {
      self->in_flight_.reset();
      self->pending_.reset();
      api::Response out = std::move(r);
      out.headers.insert(out.headers.begin(), headers.begin(), headers.end());
      add_cors_headers(self->req_, self->ctx_->cors_origin, out);
      self->write_response(std::move(out));
    });
  });
}

// Read-readiness on an idle request socket means the peer closed (or pipelined, which we leave
// alone). Either way no second read is started, so this cannot steal request bytes.
void HttpSession::watch_peer() {
  const uint64_t seq = request_seq_;
  stream_.socket().async_wait(net::ip::tcp::socket::wait_read, [self = shared_from_this(), seq](error_code ec) {
    if (ec || seq != self->request_seq_ || !self->in_request_ || !self->in_flight_) return;
    // The reactor can report a stale edge (bytes of this request that Beast had already read), so
    // only a peek that sees end-of-stream or an error counts as "went away"; nothing to read yet
    // re-arms the watch. Data waiting is a pipelined request: left alone.
    char c;
    const ssize_t n = ::recv(self->stream_.socket().native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) return;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return self->watch_peer();
    spdlog::debug("{}: client went away, cancelling", self->req_.id);
    self->close();  // cancels the generation, logs 499, frees the connection
  });
}

void HttpSession::finish_request(int status, bool close_after) {
  if (in_request_) {
    in_request_ = false;
    log_request(req_, status, start_, static_cast<bool>(channel_));
    ctx_->services->metrics().count_request(route_, status);
    --ctx_->in_flight;
  }
  channel_.reset();
  heartbeat_.cancel();
  sse_head_.reset();
  sse_serializer_.reset();
  if (close_after) return close();
  read_header(false);
}

void HttpSession::send_error_and_close(int status, const std::string& message, const std::string& code) {
  api::ApiError e;
  e.status = status;
  e.message = message;
  e.code = code;
  api::Response r = api::error_response(e);
  keep_alive_ = false;
  if (!in_request_) {
    req_ = api::Request{};
    req_.id = new_request_id();
    req_.method = "?";
    req_.path = "?";
    route_ = "rejected";
    start_ = std::chrono::steady_clock::now();
    in_request_ = true;
    ++ctx_->in_flight;
  }
  write_response(std::move(r));
}

void HttpSession::close() {
  if (in_flight_) in_flight_->cancel();
  in_flight_.reset();
  if (pending_) pending_->detach();  // its callback holds this session: let it go now
  pending_.reset();
  if (channel_) channel_->set_notify(nullptr);
  heartbeat_.cancel();
  if (in_request_) {  // the peer left (or timed out) before the answer was complete
    in_request_ = false;
    log_request(req_, 499, start_, static_cast<bool>(channel_));
    ctx_->services->metrics().count_request(route_, 499);
    --ctx_->in_flight;
  }
  if (closing_) return;
  closing_ = true;
  // Lingering close: stop sending, then discard what the peer still sends (e.g. the rest of an
  // oversized body) for a moment. Closing with unread input would send a RST that can destroy
  // our last response (a 413) before the client reads it.
  error_code ec;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
  if (ec) {
    stream_.socket().close(ec);
    return;
  }
  stream_.expires_after(std::chrono::seconds(1));
  linger();
}

void HttpSession::linger() {
  auto buf = std::make_shared<std::array<char, 8192>>();
  stream_.async_read_some(net::buffer(*buf), [self = shared_from_this(), buf](error_code ec, size_t) {
    if (!ec) return self->linger();
    error_code ignored;
    self->stream_.socket().close(ignored);
  });
}

}  // namespace gs::server
