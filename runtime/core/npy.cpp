#include "runtime/core/npy.h"

#include <cstring>
#include <fstream>
#include <iterator>
#include <string_view>

namespace gs::runtime {
namespace {

Error bad(const std::string& m) { return make_error(ErrorCode::kInvalidArgument, "npy: " + m); }

bool descr_to_dtype(std::string_view d, DType* t) {
  if (d == "<f4") { *t = DType::kF32; return true; }
  if (d == "<f8") { *t = DType::kF64; return true; }
  if (d == "<f2") { *t = DType::kF16; return true; }
  if (d == "<i8") { *t = DType::kI64; return true; }
  if (d == "<i4") { *t = DType::kI32; return true; }
  if (d == "|i1") { *t = DType::kI8; return true; }
  if (d == "|u1") { *t = DType::kU8; return true; }
  if (d == "|b1") { *t = DType::kBool; return true; }
  return false;
}

const char* dtype_to_descr(DType t) {
  switch (t) {
    case DType::kF32: return "<f4";
    case DType::kF64: return "<f8";
    case DType::kF16: return "<f2";
    case DType::kI64: return "<i8";
    case DType::kI32: return "<i4";
    case DType::kI8: return "|i1";
    case DType::kU8: return "|u1";
    case DType::kBool: return "|b1";
    default: return nullptr;
  }
}

// Extracts the value text of 'key' from the header dict (a Python literal).
bool dict_value(std::string_view h, std::string_view key, std::string_view* out) {
  const std::string pat = "'" + std::string(key) + "'";
  size_t p = h.find(pat);
  if (p == std::string_view::npos) return false;
  p = h.find(':', p + pat.size());
  if (p == std::string_view::npos) return false;
  ++p;
  while (p < h.size() && h[p] == ' ') ++p;
  size_t end = p;
  if (p < h.size() && h[p] == '(') {
    end = h.find(')', p);
    if (end == std::string_view::npos) return false;
    ++end;
  } else if (p < h.size() && h[p] == '\'') {
    end = h.find('\'', p + 1);
    if (end == std::string_view::npos) return false;
    ++end;
  } else {
    while (end < h.size() && h[end] != ',' && h[end] != '}') ++end;
  }
  *out = h.substr(p, end - p);
  return true;
}

}  // namespace

int64_t NpyArray::numel() const {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

std::vector<float> NpyArray::to_f32() const {
  const int64_t n = numel();
  std::vector<float> out(static_cast<size_t>(n));
  switch (dtype) {
    case DType::kF32: case DType::kF64: case DType::kF16: case DType::kBF16:
      convert_to_f32(dtype, data.data(), static_cast<size_t>(n), out.data());
      break;
    default: {
      auto ints = to_i64();
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(ints[i]);
    }
  }
  return out;
}

std::vector<int64_t> NpyArray::to_i64() const {
  const int64_t n = numel();
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    switch (dtype) {
      case DType::kI64: std::memcpy(&out[i], data.data() + 8 * i, 8); break;
      case DType::kI32: { int32_t v; std::memcpy(&v, data.data() + 4 * i, 4); out[i] = v; break; }
      case DType::kI8: out[i] = static_cast<int8_t>(data[i]); break;
      case DType::kU8: case DType::kBool: out[i] = data[i]; break;
      case DType::kF32: { float v; std::memcpy(&v, data.data() + 4 * i, 4); out[i] = static_cast<int64_t>(v); break; }
      case DType::kF64: { double v; std::memcpy(&v, data.data() + 8 * i, 8); out[i] = static_cast<int64_t>(v); break; }
      default: out[i] = 0;
    }
  }
  return out;
}

Expected<NpyArray> parse_npy(const uint8_t* bytes, size_t size) {
  if (size < 10 || std::memcmp(bytes, "\x93NUMPY", 6) != 0) return bad("not a .npy file");
  const int major = bytes[6];
  size_t header_len, off;
  if (major == 1) {
    header_len = bytes[8] | (bytes[9] << 8);
    off = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) return bad("truncated header");
    header_len = bytes[8] | (bytes[9] << 8) | (static_cast<size_t>(bytes[10]) << 16) |
                 (static_cast<size_t>(bytes[11]) << 24);
    off = 12;
  } else {
    return bad("unsupported version");
  }
  if (header_len > size - off) return bad("truncated header");
  std::string_view h(reinterpret_cast<const char*>(bytes + off), header_len);
  std::string_view descr, fortran, shape_s;
  if (!dict_value(h, "descr", &descr) || !dict_value(h, "fortran_order", &fortran) ||
      !dict_value(h, "shape", &shape_s))
    return bad("malformed header");
  if (descr.size() < 2) return bad("malformed descr");
  NpyArray a;
  if (!descr_to_dtype(descr.substr(1, descr.size() - 2), &a.dtype)) return bad("unsupported dtype " + std::string(descr));
  if (fortran.substr(0, 4) != "Fals") return bad("fortran order is not supported");
  // shape: "(a, b, )" or "()"
  int64_t numel = 1;
  for (size_t i = 1; i < shape_s.size();) {
    while (i < shape_s.size() && (shape_s[i] == ' ' || shape_s[i] == ',')) ++i;
    if (i >= shape_s.size() || shape_s[i] == ')') break;
    int64_t v = 0;
    size_t digits = 0;
    while (i < shape_s.size() && shape_s[i] >= '0' && shape_s[i] <= '9') {
      v = v * 10 + (shape_s[i] - '0');
      if (v > (int64_t{1} << 40)) return bad("dimension too large");
      ++i, ++digits;
    }
    if (digits == 0) return bad("malformed shape");
    a.shape.push_back(v);
    if (__builtin_mul_overflow(numel, v, &numel) || numel > (int64_t{1} << 40)) return bad("array too large");
  }
  const size_t nbytes = static_cast<size_t>(numel) * dtype_size(a.dtype);
  const size_t data_off = off + header_len;
  if (size - data_off < nbytes) return bad("truncated data");
  a.data.assign(bytes + data_off, bytes + data_off + nbytes);
  return a;
}

Expected<NpyArray> read_npy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return make_error(ErrorCode::kNotFound, "cannot open " + path);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto r = parse_npy(bytes.data(), bytes.size());
  if (!r.ok()) return make_error(r.error().code, r.error().message + " (" + path + ")");
  return r;
}

Status write_npy(const std::string& path, DType dtype, const std::vector<int64_t>& shape, const void* data) {
  const char* descr = dtype_to_descr(dtype);
  if (!descr) return make_error(ErrorCode::kUnsupported, "npy: cannot write dtype");
  std::string shape_s = "(";
  int64_t n = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    shape_s += std::to_string(shape[i]);
    shape_s += (shape.size() == 1 || i + 1 < shape.size()) ? ", " : "";
    n *= shape[i];
  }
  if (shape.size() == 1) shape_s.pop_back();
  shape_s += ")";
  std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape_s + ", }";
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::ofstream f(path, std::ios::binary);
  if (!f) return make_error(ErrorCode::kNotFound, "cannot write " + path);
  const uint8_t pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<uint8_t>(header.size() & 0xff),
                           static_cast<uint8_t>(header.size() >> 8)};
  f.write(reinterpret_cast<const char*>(pre), 10);
  f.write(header.data(), static_cast<std::streamsize>(header.size()));
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(n * dtype_size(dtype)));
  if (!f) return make_error(ErrorCode::kInternal, "write failed: " + path);
  return ok_status();
}

}  // namespace gs::runtime
