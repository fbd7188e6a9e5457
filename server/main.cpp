// gemma3n-server: config → HTTP listener (answers /health 503 at once) → engine + tokenizer
// loaded in the background → serve → SIGTERM: stop accepting, drain the engine, exit.
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "api/prompt/tokenizer_codec.h"
#include "api/services.h"
#include "config/config_loader.h"
#include "runtime/engine/engine.h"
#include "runtime/weights/convert_cache.h"
#include "server/app.h"

namespace {

namespace fs = std::filesystem;
using gs::config::ServerConfig;

// Without --model: the demo model, next to the working directory or to the source tree the
// binary was built in (build/bin/gemma3n-server → ../../models/demo).
std::string default_model_dir() {
  if (fs::exists("models/demo")) return "models/demo";
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (fs::path p = exe.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path())
      if (fs::exists(p / "models/demo")) return (p / "models/demo").string();
  }
  return "models/demo";
}

std::string model_name_for(const ServerConfig& cfg) {
  if (!cfg.model_name.empty()) return cfg.model_name;
  std::string name = fs::path(cfg.runtime.model_dir).lexically_normal().filename().string();
  if (name.empty()) name = fs::path(cfg.runtime.model_dir).lexically_normal().parent_path().filename().string();
  return name.empty() ? "gemma-3n" : name;
}

gs::runtime::EngineOptions engine_options(const ServerConfig& cfg) {
  gs::runtime::EngineOptions o;
  o.model_dir = cfg.runtime.model_dir;
  o.weights = cfg.runtime.weights;
  o.threads = cfg.runtime.threads;
  o.max_batch = cfg.runtime.max_batch;
  o.max_queue = cfg.runtime.max_queue;
  o.max_context = cfg.runtime.max_context;
  o.default_size = cfg.runtime.default_size;
  o.memory_budget_bytes = cfg.runtime.memory_budget_bytes;
  o.media.allow_image = cfg.runtime.allow_vision;
  o.media.allow_audio = cfg.runtime.allow_audio;
  o.media.preload_image = cfg.runtime.preload_vision;
  o.media.preload_audio = cfg.runtime.preload_audio;
  o.media.idle_unload_s = cfg.runtime.idle_unload_s;
  o.ple_cache_bytes = cfg.runtime.ple_cache_bytes;
  if (cfg.runtime.cache_dir == "auto") o.convert_cache_dir = gs::runtime::default_convert_cache_dir();
  else if (cfg.runtime.cache_dir != "off") o.convert_cache_dir = cfg.runtime.cache_dir;
  std::stringstream slices(cfg.runtime.custom_slices);
  for (std::string f; std::getline(slices, f, ',');)
    if (!f.empty()) o.custom_slices.push_back(f);
  return o;
}

// Runs on a background thread so the listener can answer /health (503) while this blocks.
void load_backend(const ServerConfig& cfg, gs::api::Services& services) {
  const auto t0 = std::chrono::steady_clock::now();
  try {
    auto codec = gs::api::load_tokenizer_codec(cfg.runtime.model_dir);
    if (!codec) throw gs::runtime::LoadError(codec.error().message);
    std::shared_ptr<gs::runtime::Engine> engine = gs::runtime::create_engine(engine_options(cfg));
    services.set_backend({engine, codec.value()});
    spdlog::info("model ready in {:.1f}s", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  } catch (const std::exception& e) {
    spdlog::error("failed to load the model from {}: {}", cfg.runtime.model_dir, e.what());
    services.set_load_error(e.what());
  }
}

}  // namespace

int main(int argc, char** argv) {
  gs::config::LoadOutcome loaded;
  try {
    loaded = gs::config::load_config(std::vector<std::string>(argv + 1, argv + argc), gs::config::process_env());
  } catch (const gs::config::ConfigError& e) {
    std::fprintf(stderr, "gemma3n-server: %s\n", e.what());
    return 2;
  }
  if (loaded.exit_now) {
    std::fputs(loaded.message.c_str(), stdout);
    return loaded.exit_code;
  }
  ServerConfig cfg = loaded.config;
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
  if (cfg.runtime.model_dir.empty()) cfg.runtime.model_dir = default_model_dir();

  auto services = std::make_shared<gs::api::Services>(gs::server::api_settings_from(cfg, model_name_for(cfg)));
  gs::server::App app(cfg, services);
  auto port = app.start();
  if (!port) {
    spdlog::error("{}", port.error().message);
    return 1;
  }
  spdlog::info("listening on http://{}:{} (model {}, loading)", cfg.host, *port, cfg.runtime.model_dir);
  if (!services->settings().notice.empty()) {
    spdlog::warn("************************************************************************");
    spdlog::warn("{}", services->settings().notice);
    spdlog::warn("************************************************************************");
  }
  if (!cfg.port_file.empty()) {
    const std::string tmp = cfg.port_file + ".tmp";
    std::ofstream(tmp) << *port << "\n";
    std::error_code ec;
    std::filesystem::rename(tmp, cfg.port_file, ec);  // atomic: readers never see a partial file
    if (ec) {
      spdlog::error("cannot write the port file {}: {}", cfg.port_file, ec.message());
      return 1;
    }
  }

  std::atomic<bool> loaded_done{false};
  std::thread loader([&] {
    load_backend(cfg, *services);
    loaded_done = true;
  });
  app.wait_for_stop_signal();
  if (!loaded_done) {
    // Loading cannot be interrupted; do not make a SIGTERM wait for it.
    spdlog::info("shutdown while loading: exiting");
    std::fflush(nullptr);
    std::_Exit(0);
  }
  loader.join();
  app.shutdown([&](double deadline_s) {
    if (auto b = services->backend()) b->engine->shutdown(deadline_s);
  });
  spdlog::info("bye");
  return 0;
}
