// The streaming half of HttpSession: a chunked text/event-stream response fed from an
// api::SseChannel. Frames are written one at a time on the strand; a failed write cancels.
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "server/http_session.h"

namespace gs::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

void HttpSession::start_stream(api::Response r) {
  channel_ = std::move(r.stream);
  in_flight_ = channel_;
  sse_head_ = std::make_shared<http::response<http::empty_body>>(http::status::ok, 11);
  sse_head_->set(http::field::server, "gemma3n-server");
  sse_head_->set(http::field::content_type, "text/event-stream");
  sse_head_->set(http::field::cache_control, "no-cache");
  sse_head_->set("x-request-id", req_.id);
  sse_head_->set("X-Accel-Buffering", "no");
  for (const auto& [k, v] : r.headers) sse_head_->set(k, v);
  sse_head_->chunked(true);
  sse_head_->keep_alive(keep_alive_ && !ctx_->shutting_down);
  sse_serializer_ = std::make_shared<http::response_serializer<http::empty_body>>(*sse_head_);
  writing_ = true;
  stream_closed_ = false;
  stream_.expires_after(ctx_->limits.write_timeout);
  http::async_write_header(stream_, *sse_serializer_, [self = shared_from_this()](error_code ec, size_t) {
    self->writing_ = false;
    if (ec) return self->close();
    self->watch_peer();
    self->last_write_ = std::chrono::steady_clock::now();
    self->arm_heartbeat();
    auto weak = std::weak_ptr<HttpSession>(self);
    self->channel_->set_notify([weak] {
      if (auto s = weak.lock()) net::post(s->stream_.get_executor(), [s] { s->pump_stream(); });
    });
    self->pump_stream();
  });
}

void HttpSession::pump_stream() {
  if (writing_ || !channel_) return;
  if (!stream_closed_) stream_closed_ = channel_->drain(frames_);
  if (frames_.empty()) {
    if (!stream_closed_) return;  // wait for the next notify
    writing_ = true;
    in_flight_.reset();
    net::async_write(stream_, http::make_chunk_last(), [self = shared_from_this()](error_code ec, size_t) {
      self->writing_ = false;
      self->finish_request(200, ec || !self->sse_head_->keep_alive());
    });
    return;
  }
  // Coalesce what is queued into one chunk: fewer syscalls when the engine outpaces the socket.
  auto data = std::make_shared<std::string>();
  while (!frames_.empty()) {
    *data += frames_.front();
    frames_.pop_front();
  }
  writing_ = true;
  last_write_ = std::chrono::steady_clock::now();
  stream_.expires_after(ctx_->limits.write_timeout);
  net::async_write(stream_, http::make_chunk(net::buffer(*data)), [self = shared_from_this(), data](error_code ec, size_t) {
    self->writing_ = false;
    if (ec) return self->close();  // close() cancels the generation
    self->pump_stream();
  });
}

// After sse_heartbeat of silence an SSE comment goes out: proxies and clients with read timeouts
// keep the stream open through a long prefill, and a vanished peer is noticed by the failed write.
void HttpSession::arm_heartbeat() {
  const auto period = ctx_->limits.sse_heartbeat;
  heartbeat_.expires_after(period);
  heartbeat_.async_wait([self = shared_from_this(), period](error_code ec) {
    if (ec || !self->channel_) return;
    if (!self->writing_ && std::chrono::steady_clock::now() - self->last_write_ >= period * 9 / 10) {
      self->frames_.push_back(": ping\n\n");
      self->pump_stream();
    }
    self->arm_heartbeat();
  });
}

}  // namespace gs::server
