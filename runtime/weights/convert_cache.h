// On-disk cache of converted (quantized) weights, so that only the first start with a given
// checkpoint and format pays for quantization (E2B q4: ~45 s of conversion on 2 cores).
//
// One file per (checkpoint fingerprint, format): <dir>/<fingerprint>-<format>.gsq. It holds the
// converted matrices back to back (64-byte aligned) and an index of name, format, shape and
// offset. The reader maps and validates the file, copies it into weight memory and hands out
// WeightViews into that copy. Every index entry is bounds-checked; a file that fails any check is
// ignored (and rewritten), never trusted. Writers write a temporary file and rename it, so
// concurrent starts and crashes never leave a half-written cache under the final name.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "runtime/core/status.h"
#include "runtime/core/weight_memory.h"
#include "runtime/kernels/matmul.h"
#include "runtime/weights/mapped_file.h"
#include "runtime/weights/safetensors.h"

namespace gs::runtime {

// Identifies a checkpoint's bytes without reading them all: file names, sizes, modification
// times, the safetensors headers and 256 samples of 4 KiB spread over each file's data.
// Returns 32 hex digits.
std::string checkpoint_fingerprint(const WeightStore& ws);

// The default cache directory: $XDG_CACHE_HOME/gemma3n-server or $HOME/.cache/gemma3n-server
// ("" when neither variable is set).
std::string default_convert_cache_dir();

class ConvertCacheReader {
 public:
  // kNotFound when the file does not exist; kCorruptFile when it fails validation.
  static Expected<std::unique_ptr<ConvertCacheReader>> open(const std::string& path);
  // The cached matrix `name` if it has exactly this format, shape and row group (1: plain rows,
  // 8: interleaved kQ4, q4_interleave.h).
  const WeightView* find(const std::string& name, WeightFormat f, int64_t rows, int64_t cols,
                         int32_t interleave = 1) const;
  size_t size() const { return size_; }

 private:
  // The file's bytes copied into weight memory (huge pages; a file mapping would keep 4 KiB
  // pages and lose ~5 % of decode speed); the mapping itself is dropped after validation.
  WeightBuffer data_;
  size_t size_ = 0;
  std::map<std::string, WeightView> entries_;
};

class ConvertCacheWriter {
 public:
  ~ConvertCacheWriter();
  // Creates a temporary file next to `final_path` (and the directory if needed).
  static Expected<std::unique_ptr<ConvertCacheWriter>> create(const std::string& final_path);
  Status add(const std::string& name, const WeightView& w);
  // Writes the index, syncs and renames to the final path.
  Status commit();

 private:
  struct Entry {
    std::string name;
    WeightView view;  // data unused; offset kept in `offset`
    uint64_t offset = 0;
  };
  int fd_ = -1;
  uint64_t pos_ = 0;
  std::string tmp_path_, final_path_;
  std::vector<Entry> entries_;
};

// `variant` names a layout choice that changes what is stored (e.g. "dense": no transposed FFN
// down projections); "" for the default layout.
std::string convert_cache_path(const std::string& dir, const std::string& fingerprint, WeightFormat f,
                               const std::string& variant = "");

}  // namespace gs::runtime
