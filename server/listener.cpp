#include "server/listener.h"

#include <boost/asio/strand.hpp>
#include <spdlog/spdlog.h>

#include "server/http_session.h"

namespace gs::server {

namespace net = boost::asio;
using tcp = net::ip::tcp;

Listener::Listener(net::io_context& ioc, std::shared_ptr<ServerContext> ctx)
    : ioc_(ioc), acceptor_(net::make_strand(ioc)), ctx_(std::move(ctx)) {}

runtime::Expected<int> Listener::open(const std::string& host, int port) {
  boost::system::error_code ec;
  const auto addr = net::ip::make_address(host, ec);
  if (ec) return runtime::make_error(runtime::ErrorCode::kInvalidArgument, "invalid host address '" + host + "'");
  const tcp::endpoint ep(addr, static_cast<unsigned short>(port));
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return runtime::make_error(runtime::ErrorCode::kUnavailable,
                               "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
  return static_cast<int>(acceptor_.local_endpoint().port());
}

void Listener::start() { accept(); }

void Listener::stop() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ec;
    self->acceptor_.close(ec);
  });
}

void Listener::accept() {
  acceptor_.async_accept(net::make_strand(ioc_), [self = shared_from_this()](boost::system::error_code ec, tcp::socket s) {
    if (ec == net::error::operation_aborted || !self->acceptor_.is_open()) return;
    if (!ec) {
      boost::system::error_code ignored;
      s.set_option(tcp::no_delay(true), ignored);  // SSE chunks are small and latency-bound
      std::make_shared<HttpSession>(std::move(s), self->ctx_)->run();
    } else {
      spdlog::warn("accept failed: {}", ec.message());
    }
    self->accept();
  });
}

}  // namespace gs::server
