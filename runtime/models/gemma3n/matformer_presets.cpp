#include "runtime/models/gemma3n/matformer_presets.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#ifndef GS_DEFAULT_SLICES_PATH
#define GS_DEFAULT_SLICES_PATH "config/matformer_slices.json"
#endif

namespace gs::runtime::gemma3n {
namespace {
bool read_file(const std::string& path, std::string* out) {
  std::ifstream f(path);
  if (!f) return false;
  std::stringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return true;
}
}  // namespace

Expected<std::vector<SliceSpec>> parse_slice_presets(const std::string& json_text, int* base_layers) {
  auto j = nlohmann::json::parse(json_text, nullptr, false);
  if (!j.is_object() || !j.contains("slices") || !j["slices"].is_array())
    return make_error(ErrorCode::kInvalidArgument, "slice presets: expected {\"slices\": [...]}");
  if (base_layers) *base_layers = j.value("base_layers", 0);
  std::vector<SliceSpec> out;
  for (const auto& s : j["slices"]) {
    auto spec = parse_slice_spec(s.dump());
    if (!spec.ok()) return spec.error();
    out.push_back(std::move(spec).value());
  }
  return out;
}

std::string default_presets_path() {
  if (const char* p = std::getenv("GEMMA3N_SLICES")) return p;
  return GS_DEFAULT_SLICES_PATH;
}

std::vector<SliceSpec> applicable_presets(const TextConfig& c, const std::string& presets_path) {
  std::string text;
  if (!read_file(presets_path, &text)) return {};
  int base = 0;
  auto presets = parse_slice_presets(text, &base);
  if (!presets.ok() || base != c.num_hidden_layers) return {};
  std::vector<SliceSpec> out;
  for (auto& s : presets.value())
    if (slice_plan(c, s).ok()) out.push_back(s);
  return out;
}

Expected<SliceSpec> resolve_slice(const std::string& name_or_file, const TextConfig& c,
                                  const std::string& presets_path) {
  std::string text;
  if (std::filesystem::is_regular_file(name_or_file)) {
    if (!read_file(name_or_file, &text)) return make_error(ErrorCode::kNotFound, "cannot read " + name_or_file);
    return parse_slice_spec(text);
  }
  for (auto& s : applicable_presets(c, presets_path))
    if (s.name == name_or_file) return s;
  return make_error(ErrorCode::kNotFound, "unknown slice '" + name_or_file +
                                              "': not a file, and not a preset that applies to this model");
}

}  // namespace gs::runtime::gemma3n
