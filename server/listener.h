// Accepts TCP connections and starts an HttpSession on its own strand for each.
#pragma once
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>

#include "runtime/core/status.h"
#include "server/server_context.h"

namespace gs::server {

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(boost::asio::io_context& ioc, std::shared_ptr<ServerContext> ctx);
  // Binds and listens; returns the bound port (useful with port 0).
  runtime::Expected<int> open(const std::string& host, int port);
  void start();
  void stop();   // stop accepting; existing connections continue

 private:
  void accept();
  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<ServerContext> ctx_;
};

}  // namespace gs::server
