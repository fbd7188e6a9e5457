// A real App on a free loopback port with a fake engine behind it, for the server tests.
// EngineT is FakeEngine or a subclass (scripted replies, real media decoding, ...).
#pragma once
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "server/app.h"
#include "tests/api/fake_backend.h"

namespace gs::test {

template <typename EngineT>
struct BasicLiveServer {
  std::shared_ptr<EngineT> engine = std::make_shared<EngineT>();
  std::shared_ptr<api::Services> services;
  std::unique_ptr<server::App> app;
  int port = 0;

  // `tweak` edits the API settings derived from `cfg` before the server starts.
  explicit BasicLiveServer(config::ServerConfig cfg = {}, const std::function<void(api::ApiSettings&)>& tweak = {}) {
    cfg.host = "127.0.0.1";
    cfg.port = 0;
    cfg.io_threads = 2;
    cfg.shutdown_deadline_s = 2;
    api::ApiSettings settings = server::api_settings_from(cfg, "gemma-test");
    if (tweak) tweak(settings);
    services = std::make_shared<api::Services>(std::move(settings));
    services->set_backend({engine, std::make_shared<FakeCodec>()});
    app = std::make_unique<server::App>(cfg, services);
    auto p = app->start();
    EXPECT_TRUE(p.ok());
    port = p.ok() ? *p : 0;
  }
  ~BasicLiveServer() {
    app->shutdown([this](double) { engine->shutdown(0); });
  }
  std::vector<runtime::GenerationRequest> seen() {
    std::lock_guard lk(engine->mu);
    return engine->seen;
  }
};

}  // namespace gs::test
