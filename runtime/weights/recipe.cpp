#include "runtime/weights/recipe.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

namespace gs::runtime {
namespace {

using nlohmann::json;

Error bad_recipe(const std::string& msg) { return make_error(ErrorCode::kCorruptFile, "recipe: " + msg); }

Expected<RecipeTensor> parse_tensor(const json& j, size_t index) {
  const std::string where = "tensors[" + std::to_string(index) + "]";
  if (!j.is_object()) return bad_recipe(where + " is not an object");
  RecipeTensor t;
  auto name = j.find("name");
  auto shape = j.find("shape");
  auto offset = j.find("offset");
  auto scale = j.find("scale");
  if (name == j.end() || !name->is_string() || name->get_ref<const std::string&>().empty())
    return bad_recipe(where + " lacks a name");
  t.name = name->get<std::string>();
  if (shape == j.end() || !shape->is_array() || shape->size() > 8) return bad_recipe(t.name + ": bad shape");
  int64_t numel = 1;
  for (const json& d : *shape) {
    if (!d.is_number_unsigned() || d.get<uint64_t>() > (uint64_t{1} << 40)) return bad_recipe(t.name + ": bad dim");
    t.shape.push_back(d.get<int64_t>());
    if (__builtin_mul_overflow(numel, std::max<int64_t>(t.shape.back(), 1), &numel) || numel > (int64_t{1} << 40))
      return bad_recipe(t.name + ": too many elements");
  }
  // nlohmann parses numbers with a correctly rounded strtod, so the doubles are exact.
  if (offset == j.end() || !offset->is_number() || scale == j.end() || !scale->is_number())
    return bad_recipe(t.name + ": offset/scale must be numbers");
  t.offset = offset->get<double>();
  t.scale = scale->get<double>();
  if (!std::isfinite(t.offset) || !std::isfinite(t.scale)) return bad_recipe(t.name + ": offset/scale not finite");
  return t;
}

Expected<uint64_t> parse_seed(const json& j) {
  if (!j.is_string()) return bad_recipe("seed must be a decimal string");
  const std::string& s = j.get_ref<const std::string&>();
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 10);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return bad_recipe("seed '" + s + "' is not a uint64");
  return v;
}

// The tensors in file order: by name, byte-wise (as the safetensors library writes them).
std::vector<const RecipeTensor*> by_name(const Recipe& r) {
  std::vector<const RecipeTensor*> out;
  for (const RecipeTensor& t : r.tensors) out.push_back(&t);
  std::stable_sort(out.begin(), out.end(), [](const auto* a, const auto* b) { return a->name < b->name; });
  return out;
}

std::string safetensors_header(const Recipe& r, const std::vector<const RecipeTensor*>& order) {
  // Built by hand to keep the library's order (metadata first, then tensors by name).
  const size_t es = dtype_size(r.dtype);
  std::string h = "{\"__metadata__\":{\"format\":\"pt\"}";
  uint64_t off = 0;
  for (const RecipeTensor* tp : order) {
    const RecipeTensor& t = *tp;
    const uint64_t n = static_cast<uint64_t>(t.numel()) * es;
    json shape = t.shape;
    h += "," + json(t.name).dump() + ":{\"dtype\":\"" + std::string(dtype_name(r.dtype)) + "\",\"shape\":" +
         shape.dump() + ",\"data_offsets\":[" + std::to_string(off) + "," + std::to_string(off + n) + "]}";
    off += n;
  }
  h += "}";
  while (h.size() % 8 != 0) h += ' ';  // the library pads the header to 8 bytes with spaces
  return h;
}

}  // namespace

int64_t RecipeTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

uint64_t recipe_fnv1a64(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char b : bytes) {
    h ^= b;
    h *= 0x100000001b3ULL;
  }
  return h;
}

uint64_t recipe_splitmix64(uint64_t x) {
  uint64_t z = x + 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

float recipe_value_f32(uint64_t key, uint64_t i, double offset, double scale) {
  const double u = static_cast<double>(recipe_splitmix64(key + i) >> 40) * 0x1p-23 - 1.0;
  return static_cast<float>(offset + scale * u);  // scale·u is exact, so one rounding to double, one to float
}

Expected<Recipe> parse_recipe(std::string_view json_text) {
  json j = json::parse(json_text.begin(), json_text.end(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return bad_recipe("not a JSON object");
  auto fmt = j.find("format");
  if (fmt == j.end() || *fmt != "gemma3n-recipe-v1") return bad_recipe("format must be \"gemma3n-recipe-v1\"");
  Recipe r;
  if (auto it = j.find("name"); it != j.end() && it->is_string()) r.name = it->get<std::string>();
  auto seed = j.find("seed");
  if (seed == j.end()) return bad_recipe("missing seed");
  auto s = parse_seed(*seed);
  if (!s) return s.error();
  r.seed = s.value();
  auto dt = j.find("dtype");
  if (dt == j.end() || !dt->is_string()) return bad_recipe("missing dtype");
  if (*dt == "float32") r.dtype = DType::kF32;
  else if (*dt == "bfloat16") r.dtype = DType::kBF16;
  else return bad_recipe("unsupported dtype " + dt->dump());
  if (auto it = j.find("config"); it != j.end() && it->is_object()) r.config_json = it->dump();
  auto ts = j.find("tensors");
  if (ts == j.end() || !ts->is_array()) return bad_recipe("missing tensors");
  for (size_t i = 0; i < ts->size(); ++i) {
    auto t = parse_tensor((*ts)[i], i);
    if (!t) return t.error();
    r.tensors.push_back(std::move(t.value()));
  }
  std::sort(r.tensors.begin(), r.tensors.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  for (size_t i = 1; i < r.tensors.size(); ++i)
    if (r.tensors[i].name == r.tensors[i - 1].name) return bad_recipe("duplicate tensor " + r.tensors[i].name);
  return r;
}

Expected<Recipe> load_recipe(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, "cannot open recipe " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_recipe(ss.str());
}

void realise_range(const Recipe& recipe, const RecipeTensor& t, int64_t begin, int64_t end, void* dst) {
  const uint64_t key = recipe_key(t.name, recipe.seed);
  if (recipe.dtype == DType::kBF16) {
    auto* out = static_cast<uint16_t*>(dst);
    for (int64_t i = begin; i < end; ++i)
      out[i - begin] = f32_to_bf16(recipe_value_f32(key, static_cast<uint64_t>(i), t.offset, t.scale));
  } else {
    auto* out = static_cast<float*>(dst);
    for (int64_t i = begin; i < end; ++i)
      out[i - begin] = recipe_value_f32(key, static_cast<uint64_t>(i), t.offset, t.scale);
  }
}

void realise(const Recipe& recipe, const RecipeTensor& t, void* dst) { realise_range(recipe, t, 0, t.numel(), dst); }

Status write_recipe_safetensors(const Recipe& recipe, const std::string& path, const ComputeContext& ctx) {
  if (recipe.dtype != DType::kF32 && recipe.dtype != DType::kBF16)
    return make_error(ErrorCode::kInvalidArgument, "recipe dtype must be float32 or bfloat16");
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!f) return make_error(ErrorCode::kNotFound, "cannot create " + path);
  const std::vector<const RecipeTensor*> order = by_name(recipe);
  const std::string header = safetensors_header(recipe, order);
  const uint64_t hlen = header.size();
  bool ok = std::fwrite(&hlen, 8, 1, f.get()) == 1 && std::fwrite(header.data(), 1, hlen, f.get()) == hlen;
  const size_t es = dtype_size(recipe.dtype);
  constexpr int64_t kChunk = int64_t{1} << 22;  // elements per buffered chunk (16 MiB of float32)
  std::vector<uint8_t> buf(static_cast<size_t>(kChunk) * es);
  for (const RecipeTensor* tp : order) {
    const RecipeTensor& t = *tp;
    const int64_t n = t.numel();
    for (int64_t b = 0; b < n && ok; b += kChunk) {
      const int64_t e = std::min(n, b + kChunk);
      ctx.parallel_for(e - b, 1 << 16, [&](int64_t lo, int64_t hi) {
        realise_range(recipe, t, b + lo, b + hi, buf.data() + static_cast<size_t>(lo) * es);
      });
      const size_t bytes = static_cast<size_t>(e - b) * es;
      ok = std::fwrite(buf.data(), 1, bytes, f.get()) == bytes;
    }
  }
  ok = ok && std::fclose(f.release()) == 0;  // close errors (full disk) surface here
  if (!ok) return make_error(ErrorCode::kResourceExhausted, "write failed: " + path);
  return ok_status();
}

}  // namespace gs::runtime
