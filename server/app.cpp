#include "server/app.h"

#include <filesystem>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <ctime>
#include <spdlog/spdlog.h>

#include "server/listener.h"
#include "server/media_fetch.h"

namespace gs::server {

namespace net = boost::asio;

api::ApiSettings api_settings_from(const config::ServerConfig& cfg, const std::string& model_name) {
  api::ApiSettings s;
  s.model_name = model_name;
  s.default_max_tokens = cfg.default_max_tokens;
  s.limits.max_n = cfg.limits.max_n;
  s.limits.max_tokens_cap = cfg.limits.max_tokens_cap;
  s.max_upload_bytes = cfg.limits.max_upload_bytes;
  s.created = static_cast<int64_t>(std::time(nullptr));
  const config::MediaSourceConfig& media = cfg.media_sources;
  s.image_sources.fetch_remote = media.fetch_remote;
  s.image_sources.max_bytes = media.fetch_max_bytes;
  s.image_sources.image_dir = media.image_dir;
  if (media.fetch_remote) s.image_sources.fetch = make_media_fetcher({media.fetch_max_bytes, media.fetch_timeout_s, 3, ""});
  if (std::filesystem::path(cfg.runtime.model_dir).lexically_normal().filename() == "demo")
    s.notice = "DEMO MODEL: random weights, its output is meaningless. For real answers run "
               "'huggingface-cli download google/gemma-3n-E2B-it --local-dir DIR' and start the server with --model DIR.";
  return s;
}

namespace {
std::chrono::milliseconds ms(double s) { return std::chrono::milliseconds(static_cast<int64_t>(s * 1000)); }
}  // namespace

App::App(const config::ServerConfig& cfg, std::shared_ptr<api::Services> services) : cfg_(cfg) {
  ctx_ = std::make_shared<ServerContext>();
  ctx_->limits.max_body_bytes = cfg.limits.max_body_bytes;
  ctx_->limits.max_upload_bytes = cfg.limits.max_upload_bytes;
  ctx_->limits.header_timeout = ms(cfg.limits.header_timeout_s);
  ctx_->limits.body_timeout = ms(cfg.limits.body_timeout_s);
  ctx_->limits.idle_timeout = ms(cfg.limits.idle_timeout_s);
  ctx_->limits.sse_heartbeat = ms(cfg.limits.sse_heartbeat_s);
  ctx_->api_key = cfg.api_key;
  ctx_->cors_origin = cfg.cors_origin;
  ctx_->router = Router::openai_routes();
  ctx_->services = std::move(services);
  listener_ = std::make_shared<Listener>(ioc_, ctx_);
}

App::~App() {
  if (!stopped_) shutdown([](double) {});
}

runtime::Expected<int> App::start() {
  auto port = listener_->open(cfg_.host, cfg_.port);
  if (!port) return port;
  listener_->start();
  for (int i = 0; i < std::max(1, cfg_.io_threads); ++i) threads_.emplace_back([this] { ioc_.run(); });
  return port;
}

void App::wait_for_stop_signal() {
  net::io_context sig_ioc;
  net::signal_set signals(sig_ioc, SIGINT, SIGTERM);
  signals.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (!ec) spdlog::info("signal {} received: shutting down", sig);
    request_stop();
  });
  std::thread sig_thread([&] { sig_ioc.run(); });
  {
    std::unique_lock lk(stop_mu_);
    stop_cv_.wait(lk, [this] { return stop_requested_; });
  }
  signals.cancel();
  sig_ioc.stop();
  sig_thread.join();
}

void App::request_stop() {
  std::lock_guard lk(stop_mu_);
  stop_requested_ = true;
  stop_cv_.notify_all();
}

void App::shutdown(const std::function<void(double)>& drain_engine) {
  if (stopped_) return;
  stopped_ = true;
  ctx_->shutting_down = true;
  listener_->stop();
  drain_engine(cfg_.shutdown_deadline_s);
  // The engine has now finished or cancelled everything; give the sessions a moment to write
  // the last bytes of those answers.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (ctx_->in_flight > 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  // A media worker may still hold the last reference to a session (the callback of an answer it
  // just completed); sessions must die before the I/O context does.
  if (!ctx_->services->media_workers().wait_idle(std::chrono::seconds(5)))
    spdlog::warn("shutdown: media work still running after 5 s");
  ioc_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

}  // namespace gs::server
