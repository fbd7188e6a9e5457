// Fetches vision tensors by name under a prefix, checks their shapes and counts what was loaded.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/status.h"
#include "runtime/weights/safetensors.h"

// Binds `var` to the value of an Expected or returns its error from the enclosing function.
#define GS_VLOAD(var, expr)             \
  auto var##_r = (expr);                \
  if (!var##_r) return var##_r.error(); \
  auto& var = *var##_r

namespace gs::runtime::gemma3n::vision {

class TensorLoader {
 public:
  TensorLoader(const WeightStore& store, std::string prefix) : store_(store), prefix_(std::move(prefix)) {}
  bool has(const std::string& name) const { return store_.find(prefix_ + name) != nullptr; }
  // The tensor widened to float32; an error names it when it is missing or has another shape.
  Expected<std::vector<float>> get(const std::string& name, const std::vector<int64_t>& shape);
  // Shape of a tensor (empty when missing).
  std::vector<int64_t> shape_of(const std::string& name) const;
  int64_t params_loaded() const { return params_; }

 private:
  const WeightStore& store_;
  std::string prefix_;
  int64_t params_ = 0;
};

}  // namespace gs::runtime::gemma3n::vision
