#include "runtime/weights/safetensors.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

namespace gs::runtime {
namespace {

constexpr size_t kMaxHeaderBytes = size_t{100} << 20;  // real headers are < 1 MiB
constexpr int64_t kMaxDim = int64_t{1} << 40;

Error corrupt(const std::string& file, const std::string& msg) {
  return make_error(ErrorCode::kCorruptFile, file + ": " + msg);
}

}  // namespace

int64_t TensorRef::numel() const {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

std::vector<float> TensorRef::to_f32() const {
  std::vector<float> out(static_cast<size_t>(numel()));
  convert_to_f32(dtype, data, out.size(), out.data());
  return out;
}

void TensorRef::rows_to_f32(int64_t row0, int64_t n, int64_t col0, int64_t ncols, float* dst) const {
  // A "row" is one index of the first dimension (conv kernels [out, in, kh, kw] included).
  const int64_t cols = shape.empty() || shape[0] == 0 ? 1 : numel() / shape[0];
  const size_t es = dtype_size(dtype);
  for (int64_t r = 0; r < n; ++r) {
    const uint8_t* src = data + (static_cast<size_t>((row0 + r) * cols + col0)) * es;
    convert_to_f32(dtype, src, static_cast<size_t>(ncols), dst + r * ncols);
  }
}

Expected<std::vector<TensorRef>> parse_safetensors(const MappedFile& file) {
  const std::string& fn = file.path();
  if (file.size() < 8) return corrupt(fn, "file shorter than the 8-byte header length");
  uint64_t hlen = 0;
  std::memcpy(&hlen, file.data(), 8);
  if (hlen > kMaxHeaderBytes || hlen > file.size() - 8) return corrupt(fn, "header length out of bounds");
  const char* hbeg = reinterpret_cast<const char*>(file.data() + 8);
  nlohmann::json header = nlohmann::json::parse(hbeg, hbeg + hlen, nullptr, /*allow_exceptions=*/false);
  if (!header.is_object()) return corrupt(fn, "header is not a JSON object");
  const size_t data_base = 8 + hlen;
  const size_t data_size = file.size() - data_base;

  std::vector<TensorRef> out;
  std::vector<std::pair<size_t, size_t>> ranges;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    const auto& v = it.value();
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
      return corrupt(fn, "tensor '" + it.key() + "' lacks dtype/shape/data_offsets");
    const auto& jd = v["dtype"];
    const auto& js = v["shape"];
    const auto& jo = v["data_offsets"];
    TensorRef t;
    t.name = it.key();
    if (!jd.is_string() || !parse_safetensors_dtype(jd.get<std::string>(), &t.dtype))
      return corrupt(fn, "tensor '" + t.name + "' has an unsupported dtype");
    if (!js.is_array() || js.size() > 8) return corrupt(fn, "tensor '" + t.name + "' has a bad shape");
    int64_t numel = 1;
    for (const auto& d : js) {
      if (!d.is_number_unsigned() || d.get<uint64_t>() > static_cast<uint64_t>(kMaxDim))
        return corrupt(fn, "tensor '" + t.name + "' has a bad dimension");
      t.shape.push_back(d.get<int64_t>());
      // Checked before it can overflow: dims and the product both stay below 2^40.
      if (__builtin_mul_overflow(numel, t.shape.back(), &numel) || numel > kMaxDim)
        return corrupt(fn, "tensor '" + t.name + "' is too large");
    }
    if (!jo.is_array() || jo.size() != 2 || !jo[0].is_number_unsigned() || !jo[1].is_number_unsigned())
      return corrupt(fn, "tensor '" + t.name + "' has bad data_offsets");
    const uint64_t b = jo[0].get<uint64_t>(), e = jo[1].get<uint64_t>();
    if (b > e || e > data_size) return corrupt(fn, "tensor '" + t.name + "' lies outside the file (truncated?)");
    if (e - b != static_cast<uint64_t>(numel) * dtype_size(t.dtype))
      return corrupt(fn, "tensor '" + t.name + "' byte size does not match its shape and dtype");
    t.nbytes = static_cast<size_t>(e - b);
    t.file_offset = data_base + static_cast<size_t>(b);
    t.data = file.data() + t.file_offset;
    t.file = &file;
    if (t.nbytes > 0) ranges.emplace_back(static_cast<size_t>(b), static_cast<size_t>(e));
    out.push_back(std::move(t));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second) return corrupt(fn, "tensor data ranges overlap");
  return out;
}

Expected<WeightStore> WeightStore::open_files(const std::vector<std::string>& paths) {
  WeightStore ws;
  for (const auto& p : paths) {
    auto mf = MappedFile::open(p);
    if (!mf.ok()) return mf.error();
    ws.files_.push_back(std::make_unique<MappedFile>(std::move(mf).value()));
    auto tensors = parse_safetensors(*ws.files_.back());
    if (!tensors.ok()) return tensors.error();
    for (auto& t : tensors.value()) {
      if (ws.tensors_.count(t.name)) return corrupt(p, "tensor '" + t.name + "' appears in two files");
      std::string name = t.name;
      ws.tensors_.emplace(std::move(name), std::move(t));
    }
  }
  return ws;
}

Expected<WeightStore> WeightStore::open(const std::string& model_dir) {
  namespace fs = std::filesystem;
  const fs::path dir(model_dir);
  const fs::path index = dir / "model.safetensors.index.json";
  std::vector<std::string> files;
  if (fs::exists(index)) {
    std::ifstream f(index);
    nlohmann::json j = nlohmann::json::parse(f, nullptr, false);
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
      return corrupt(index.string(), "no weight_map object");
    std::set<std::string> shard_names;
    for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
      if (!it.value().is_string()) return corrupt(index.string(), "weight_map values must be file names");
      const std::string s = it.value().get<std::string>();
      if (s.find('/') != std::string::npos || s.find("..") != std::string::npos)
        return corrupt(index.string(), "shard name '" + s + "' must be a plain file name");
      shard_names.insert(s);
    }
    for (const auto& s : shard_names) files.push_back((dir / s).string());
    auto ws = open_files(files);
    if (!ws.ok()) return ws;
    for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
      const TensorRef* t = ws->find(it.key());
      if (!t) return corrupt(index.string(), "tensor '" + it.key() + "' is listed but not in its shard");
      if (fs::path(t->file->path()).filename() != it.value().get<std::string>())
        return corrupt(index.string(), "tensor '" + it.key() + "' is in a different shard than listed");
    }
    return ws;
  }
  if (fs::exists(dir / "model.safetensors")) return open_files({(dir / "model.safetensors").string()});
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".safetensors") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  if (files.empty()) return make_error(ErrorCode::kNotFound, "no *.safetensors in " + model_dir);
  return open_files(files);
}

const TensorRef* WeightStore::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

Expected<const TensorRef*> WeightStore::require(const std::string& name) const {
  const TensorRef* t = find(name);
  if (!t) return make_error(ErrorCode::kNotFound, "missing required tensor " + name);
  return t;
}

size_t WeightStore::resident_bytes_with_prefix(const std::string& prefix) const {
  size_t n = 0;
  for (auto it = tensors_.lower_bound(prefix); it != tensors_.end() && it->first.starts_with(prefix); ++it)
    n += it->second.resident_bytes();
  return n;
}

size_t WeightStore::bytes_with_prefix(const std::string& prefix) const {
  size_t n = 0;
  for (auto it = tensors_.lower_bound(prefix); it != tensors_.end() && it->first.starts_with(prefix); ++it)
    n += it->second.nbytes;
  return n;
}

void WeightStore::drop_pages_with_prefix(const std::string& prefix) const {
  for (auto it = tensors_.lower_bound(prefix); it != tensors_.end() && it->first.starts_with(prefix); ++it)
    if (it->second.file) it->second.file->drop_pages(it->second.file_offset, it->second.nbytes);
}

}  // namespace gs::runtime
