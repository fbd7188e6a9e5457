#include "runtime/vision/preprocess.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace gs::runtime::vision {
namespace {

using nlohmann::json;

Error cfg_error(const std::string& key, const std::string& what) {
  return make_error(ErrorCode::kInvalidArgument, "preprocessor_config.json: '" + key + "' " + what);
}

// One output position's contributing input range and normalised weights.
struct Taps {
  int first = 0;
  std::vector<double> w;
};

// PIL / torchvision antialias: support = 1 (bilinear) widened by the scale when down-sampling;
// taps at input centres j + 0.5, triangle filter evaluated in output-pixel units.
std::vector<Taps> make_taps(int in, int out) {
  const double scale = static_cast<double>(in) / out;
  const double support = scale >= 1.0 ? scale : 1.0;
  const double inv = scale >= 1.0 ? 1.0 / scale : 1.0;
  std::vector<Taps> taps(out);
  for (int i = 0; i < out; ++i) {
    const double center = (i + 0.5) * scale;
    const int lo = std::max(static_cast<int>(center - support + 0.5), 0);
    const int hi = std::min(static_cast<int>(center + support + 0.5), in);
    Taps& t = taps[i];
    t.first = lo;
    double total = 0;
    for (int j = lo; j < hi; ++j) {
      const double x = std::abs((j - center + 0.5) * inv);
      const double v = x < 1.0 ? 1.0 - x : 0.0;
      t.w.push_back(v);
      total += v;
    }
    if (total > 0)
      for (double& v : t.w) v /= total;
  }
  return taps;
}

template <typename T>
Status get(const json& j, const char* key, T* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return ok_status();
  if constexpr (std::is_same_v<T, bool>) {
    if (!it->is_boolean()) return cfg_error(key, "must be a boolean");
  } else if (!it->is_number()) {
    return cfg_error(key, "must be a number");
  }
  *out = it->get<T>();
  return ok_status();
}

Status get_triple(const json& j, const char* key, std::array<float, 3>* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return ok_status();
  if (it->is_number()) {
    out->fill(it->get<float>());
    return ok_status();
  }
  if (!it->is_array() || it->size() != 3) return cfg_error(key, "must be a number or a list of 3");
  for (int i = 0; i < 3; ++i) {
    if (!(*it)[i].is_number()) return cfg_error(key, "must hold numbers");
    (*out)[i] = (*it)[i].get<float>();
  }
  return ok_status();
}

}  // namespace

Expected<PreprocessConfig> parse_preprocess_config(const std::string& text) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return cfg_error("(root)", "is not a JSON object");
  PreprocessConfig c;
  if (auto s = j.find("size"); s != j.end() && !s->is_null()) {
    if (!s->is_object() || !s->contains("height") || !s->contains("width") || !(*s)["height"].is_number_integer() ||
        !(*s)["width"].is_number_integer())
      return cfg_error("size", "must be {\"height\": h, \"width\": w}");
    c.height = (*s)["height"].get<int>(), c.width = (*s)["width"].get<int>();
  }
  if (c.height < 1 || c.width < 1 || c.height > 4096 || c.width > 4096) return cfg_error("size", "is out of range");
  int resample = 2;
  for (auto st : {get(j, "resample", &resample), get(j, "do_resize", &c.do_resize),
                  get(j, "do_rescale", &c.do_rescale), get(j, "rescale_factor", &c.rescale_factor),
                  get(j, "do_normalize", &c.do_normalize), get_triple(j, "image_mean", &c.mean),
                  get_triple(j, "image_std", &c.std)})
    if (!st) return st.error();
  if (resample != 2) return cfg_error("resample", "= " + std::to_string(resample) + " is not supported (only 2, bilinear)");
  if (c.do_normalize)
    for (float s : c.std)
      if (!(s > 0)) return cfg_error("image_std", "must be positive");
  return c;
}

Expected<PreprocessConfig> load_preprocess_config(const std::string& model_dir) {
  const auto path = std::filesystem::path(model_dir) / "preprocessor_config.json";
  if (!std::filesystem::exists(path)) return PreprocessConfig{};
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  if (!f) return make_error(ErrorCode::kNotFound, "cannot read " + path.string());
  return parse_preprocess_config(ss.str());
}

// Horizontal pass into a float buffer, then the vertical pass; one rounding at the end, as
// torchvision does on uint8 tensors (it interpolates in float and rounds the result).
RgbImage resize_bilinear_antialias(const RgbImage& img, int out_h, int out_w) {
  const std::vector<Taps> tx = make_taps(img.width, out_w), ty = make_taps(img.height, out_h);
  std::vector<double> tmp(static_cast<size_t>(img.height) * out_w * 3);
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < out_w; ++x)
      for (int c = 0; c < 3; ++c) {
        double acc = 0;
        const Taps& t = tx[x];
        for (size_t k = 0; k < t.w.size(); ++k)
          acc += t.w[k] * img.pixels[(static_cast<size_t>(y) * img.width + t.first + k) * 3 + c];
        tmp[(static_cast<size_t>(y) * out_w + x) * 3 + c] = acc;
      }
  RgbImage out;
  out.width = out_w, out.height = out_h;
  out.pixels.resize(static_cast<size_t>(out_h) * out_w * 3);
  for (int y = 0; y < out_h; ++y)
    for (int x = 0; x < out_w; ++x)
      for (int c = 0; c < 3; ++c) {
        double acc = 0;
        const Taps& t = ty[y];
        for (size_t k = 0; k < t.w.size(); ++k) acc += t.w[k] * tmp[((t.first + k) * out_w + x) * 3 + c];
        out.pixels[(static_cast<size_t>(y) * out_w + x) * 3 + c] =
            static_cast<uint8_t>(std::clamp(std::nearbyint(acc), 0.0, 255.0));
      }
  return out;
}

Expected<std::vector<float>> preprocess_image(const RgbImage& img, const PreprocessConfig& cfg) {
  if (img.width < 1 || img.height < 1 || img.pixels.size() != static_cast<size_t>(img.width) * img.height * 3)
    return make_error(ErrorCode::kInvalidArgument, "preprocess: empty or inconsistent image");
  const bool resize = cfg.do_resize && (img.width != cfg.width || img.height != cfg.height);
  if (!cfg.do_resize && (img.width != cfg.width || img.height != cfg.height))
    return make_error(ErrorCode::kInvalidArgument, "preprocess: image size differs and do_resize is off");
  const RgbImage r = resize ? resize_bilinear_antialias(img, cfg.height, cfg.width) : img;
  const float scale = cfg.do_rescale ? static_cast<float>(cfg.rescale_factor) : 1.0f;
  const size_t hw = static_cast<size_t>(r.width) * r.height;
  std::vector<float> out(3 * hw);
  for (size_t p = 0; p < hw; ++p)
    for (int c = 0; c < 3; ++c) {
      float v = static_cast<float>(r.pixels[p * 3 + c]) * scale;
      if (cfg.do_normalize) v = (v - cfg.mean[c]) / cfg.std[c];
      out[c * hw + p] = v;
    }
  return out;
}

}  // namespace gs::runtime::vision
