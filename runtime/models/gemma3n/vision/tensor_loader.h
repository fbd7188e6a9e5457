// Fetches vision tensors by name under a prefix, checks their shapes and counts what was loaded.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/status.h"
#include "runtime/kernels/matmul.h"
#include "runtime/weights/safetensors.h"

// Binds `var` to the value of an Expected or returns its error from the enclosing function.
#define GS_VLOAD(var, expr)             \
  auto var##_r = (expr);                \
  if (!var##_r) return var##_r.error(); \
  auto& var = *var##_r

namespace gs::runtime::gemma3n::vision {

class TensorLoader {
 public:
  // `format`: storage of the matrices (1x1 / im2col conv weights, projections): kF32 or kBF16.
  TensorLoader(const WeightStore& store, std::string prefix, WeightFormat format = WeightFormat::kF32)
      : store_(store), prefix_(std::move(prefix)), format_(format) {}
  bool has(const std::string& name) const { return store_.find(prefix_ + name) != nullptr; }
  // The tensor widened to float32; an error names it when it is missing or has another shape.
  Expected<std::vector<float>> get(const std::string& name, const std::vector<int64_t>& shape);
  // Shape of a tensor (empty when missing).
  std::vector<int64_t> shape_of(const std::string& name) const;
  int64_t params_loaded() const { return params_; }
  WeightFormat format() const { return format_; }
  // Converts a float32 [rows, cols] matrix to the loader's format and counts its bytes.
  OwnedWeight matrix(const float* data, int64_t rows, int64_t cols);
  // Counts a matrix converted elsewhere (im2col conv weights).
  void note_matrix(const OwnedWeight& w) {
    matrix_params_ += w.view().rows * w.view().cols;
    matrix_bytes_ += w.bytes();
  }
  // Bytes held once loaded: converted matrices + every other loaded value as float32.
  size_t resident_bytes() const { return matrix_bytes_ + sizeof(float) * static_cast<size_t>(params_ - matrix_params_); }

 private:
  const WeightStore& store_;
  std::string prefix_;
  WeightFormat format_;
  int64_t params_ = 0, matrix_params_ = 0;
  size_t matrix_bytes_ = 0;
};

}  // namespace gs::runtime::gemma3n::vision
