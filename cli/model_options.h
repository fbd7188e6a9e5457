// Options shared by the CLI commands that load a model (--model, --weights, --threads, --slice).
#pragma once
#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "runtime/core/threading.h"
#include "runtime/models/gemma3n/text_model.h"

namespace gs::cli {

struct ModelOptions {
  std::string model_dir;
  std::string weights = "auto";
  std::string slice;
  int threads = 0;
  int max_context = 32768;
  size_t ple_cache_mb = 64;
  bool ple_resident = false;
  bool dense_ffn = false;           // comparison: no sparse FFN path
  std::string ffn_panels = "auto";
  std::string q4_layout = "groups";  // kQ4 product weights: rows interleaved in groups of 8, or plain rows  // down_proj column panels: auto (presets), off, or "w1,w2"
  std::string cache_dir = "auto";   // convert cache: auto (~/.cache/gemma3n-server), off, or a directory
};

void add_model_options(CLI::App& app, ModelOptions* o);

struct LoadedModel {
  std::unique_ptr<runtime::ComputeContext> ctx;
  std::unique_ptr<runtime::gemma3n::TextModel> model;
  runtime::gemma3n::LayerPlan plan;
};

// Loads the model and resolves the slice; prints the error and returns nullptr on failure.
std::unique_ptr<LoadedModel> load_model(const ModelOptions& o);

// "auto" → the default cache directory, "off" → "" (no cache), else the directory itself.
std::string resolve_cache_dir(const std::string& v);

// Token ids from a 1-D or [1, seq] integer .npy.
bool read_ids(const std::string& path, std::vector<int32_t>* ids);

}  // namespace gs::cli
