// safetensors files and Hugging Face model directories (single file or sharded with an index).
// Every header is validated (bounds, overlaps, dtype, sizes) before any tensor is handed out.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/core/dtype.h"
#include "runtime/core/status.h"
#include "runtime/weights/mapped_file.h"

namespace gs::runtime {

// A tensor inside a mapped file. Non-owning: valid while its WeightStore lives.
struct TensorRef {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;
  size_t nbytes = 0;
  size_t file_offset = 0;          // offset of the data inside its file
  const MappedFile* file = nullptr;

  int64_t numel() const;
  int64_t dim(int i) const { return shape.at(static_cast<size_t>(i < 0 ? i + static_cast<int>(shape.size()) : i)); }
  // The whole tensor widened to float32.
  std::vector<float> to_f32() const;
  // Rows [row0, row0+n) of a 2-D tensor, columns [col0, col0+ncols), widened into dst (n x ncols).
  void rows_to_f32(int64_t row0, int64_t n, int64_t col0, int64_t ncols, float* dst) const;
  size_t resident_bytes() const { return file ? file->resident_bytes(file_offset, nbytes) : 0; }
  void prefetch() const {
    if (file) file->prefetch(file_offset, nbytes);
  }
};

// Parses and validates a safetensors header over `file`; tensors reference its mapping.
Expected<std::vector<TensorRef>> parse_safetensors(const MappedFile& file);

class WeightStore {
 public:
  // Opens `model.safetensors`, or the shards listed by `model.safetensors.index.json`.
  static Expected<WeightStore> open(const std::string& model_dir);
  // Opens explicit files (tests, tools).
  static Expected<WeightStore> open_files(const std::vector<std::string>& paths);

  const TensorRef* find(const std::string& name) const;
  Expected<const TensorRef*> require(const std::string& name) const;
  const std::map<std::string, TensorRef>& tensors() const { return tensors_; }
  // The mapped checkpoint files, in the order they were opened.
  const std::vector<std::unique_ptr<MappedFile>>& files() const { return files_; }
  // Total bytes of the tensors whose names start with `prefix` that are resident now.
  size_t resident_bytes_with_prefix(const std::string& prefix) const;
  size_t bytes_with_prefix(const std::string& prefix) const;
  // Drop clean mapped pages of tensors under `prefix` from this process (after converting them).
  void drop_pages_with_prefix(const std::string& prefix) const;

 private:
  std::vector<std::unique_ptr<MappedFile>> files_;
  std::map<std::string, TensorRef> tensors_;
};

}  // namespace gs::runtime
