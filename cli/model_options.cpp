#include "cli/model_options.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "runtime/core/npy.h"
#include "runtime/models/gemma3n/matformer_presets.h"
#include "runtime/weights/convert_cache.h"

namespace gs::cli {

void add_model_options(CLI::App& app, ModelOptions* o) {
  app.add_option("--model", o->model_dir, "Hugging Face model directory")->required();
  app.add_option("--weights", o->weights, "weight format: auto|f32|bf16|q8|q4")->capture_default_str();
  app.add_option("--slice", o->slice, "MatFormer slice: preset name or slice JSON file");
  app.add_option("--threads", o->threads, "compute threads (0 = all cores)")->capture_default_str();
  app.add_option("--max-context", o->max_context, "maximum context length")->capture_default_str();
  app.add_option("--ple-cache-mb", o->ple_cache_mb, "PLE hot-row cache size in MiB")->capture_default_str();
  app.add_flag("--ple-resident", o->ple_resident, "copy the whole PLE table into RAM (comparison)");
  app.add_flag("--dense-ffn", o->dense_ffn, "compute every FFN neuron even in sparse layers (comparison)");
  app.add_option("--ffn-panels", o->ffn_panels,
                 "cut dense down_proj into column panels at these FFN widths: auto (the MatFormer presets' "
                 "narrower widths), off, or a comma list")
      ->capture_default_str();
  app.add_option("--q4-layout", o->q4_layout,
                 "q4 weights of whole-matrix products: groups (rows interleaved by 8) or rows (plain, comparison)")
      ->check(CLI::IsMember({"groups", "rows"}))
      ->capture_default_str();
  app.add_option("--cache-dir", o->cache_dir,
                 "where quantized weights are cached: auto (~/.cache/gemma3n-server), off, or a directory")
      ->capture_default_str();
}

std::string resolve_cache_dir(const std::string& v) {
  if (v == "off" || v.empty()) return "";
  return v == "auto" ? runtime::default_convert_cache_dir() : v;
}

namespace {

// "w1,w2,...": positive integers.
bool parse_widths(const std::string& text, std::vector<int64_t>* out) {
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t end = std::min(text.find(',', pos), text.size());
    const std::string item = text.substr(pos, end - pos);
    char* stop = nullptr;
    const long long v = std::strtoll(item.c_str(), &stop, 10);
    if (item.empty() || *stop != '\0' || v <= 0) return false;
    out->push_back(v);
    pos = end + 1;
  }
  return true;
}

}  // namespace

std::unique_ptr<LoadedModel> load_model(const ModelOptions& o) {
  using namespace runtime;
  auto lm = std::make_unique<LoadedModel>();
  lm->ctx = std::make_unique<ComputeContext>(o.threads);
  gemma3n::TextModelOptions mo;
  mo.max_context = o.max_context;
  mo.ple.cache_bytes = o.ple_cache_mb << 20;
  mo.ple.resident = o.ple_resident;
  mo.convert_cache_dir = resolve_cache_dir(o.cache_dir);
  mo.sparse_ffn = !o.dense_ffn;
  mo.q4_row_groups = o.q4_layout == "groups";
  if (o.ffn_panels != "auto") {
    mo.ffn_panel_widths.emplace();
    if (o.ffn_panels != "off" && !parse_widths(o.ffn_panels, &*mo.ffn_panel_widths)) {
      std::fprintf(stderr, "error: --ffn-panels wants auto, off or positive widths, got '%s'\n", o.ffn_panels.c_str());
      return nullptr;
    }
  }
  if (o.weights != "auto") {
    mo.format_auto = false;
    if (!parse_weight_format(o.weights, &mo.format)) {
      std::fprintf(stderr, "error: unknown --weights '%s' (auto|f32|bf16|q8|q4)\n", o.weights.c_str());
      return nullptr;
    }
  }
  auto m = gemma3n::TextModel::load(o.model_dir, mo, *lm->ctx);
  if (!m.ok()) {
    std::fprintf(stderr, "error: %s\n", m.error().message.c_str());
    return nullptr;
  }
  lm->model = std::move(m).value();
  lm->plan = lm->model->full();
  if (!o.slice.empty()) {
    auto spec = gemma3n::resolve_slice(o.slice, lm->model->text_config());
    if (!spec.ok()) {
      std::fprintf(stderr, "error: %s\n", spec.error().message.c_str());
      return nullptr;
    }
    auto plan = gemma3n::slice_plan(lm->model->text_config(), *spec);
    if (!plan.ok()) {
      std::fprintf(stderr, "error: %s\n", plan.error().message.c_str());
      return nullptr;
    }
    lm->plan = std::move(plan).value();
  }
  return lm;
}

bool read_ids(const std::string& path, std::vector<int32_t>* ids) {
  auto a = runtime::read_npy(path);
  if (!a.ok()) {
    std::fprintf(stderr, "error: %s\n", a.error().message.c_str());
    return false;
  }
  if (a->shape.size() > 2 || (a->shape.size() == 2 && a->shape[0] != 1)) {
    std::fprintf(stderr, "error: ids must be 1-D or [1, seq]\n");
    return false;
  }
  for (int64_t v : a->to_i64()) ids->push_back(static_cast<int32_t>(v));
  return true;
}

}  // namespace gs::cli
