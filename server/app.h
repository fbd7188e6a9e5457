// Wires the HTTP side together and owns its lifetimes: io_context and its threads, the
// listener, the shared ServerContext. The engine is not owned here; the shutdown hook tells it
// to finish or cancel in-flight work (main provides it).
#pragma once
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "api/services.h"
#include "config/server_config.h"
#include "runtime/core/status.h"
#include "server/server_context.h"

namespace gs::server {

class Listener;

// Settings of the api layer derived from the server config.
api::ApiSettings api_settings_from(const config::ServerConfig& cfg, const std::string& model_name);

class App {
 public:
  App(const config::ServerConfig& cfg, std::shared_ptr<api::Services> services);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // Binds, starts the I/O threads; returns the bound port.
  runtime::Expected<int> start();
  // Blocks until SIGINT/SIGTERM (or request_stop()).
  void wait_for_stop_signal();
  void request_stop();
  // Graceful stop: no new connections or requests; `drain_engine(deadline)` lets the engine
  // finish or cancel what runs; then waits (bounded) for the answers to be written.
  void shutdown(const std::function<void(double)>& drain_engine);

 private:
  config::ServerConfig cfg_;
  std::shared_ptr<ServerContext> ctx_;
  boost::asio::io_context ioc_;
  std::shared_ptr<Listener> listener_;
  std::vector<std::thread> threads_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_requested_ = false;
  bool stopped_ = false;
};

}  // namespace gs::server
