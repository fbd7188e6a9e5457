// RAII read-only memory map of a whole file, with residency queries (mincore) and advice.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "runtime/core/status.h"

namespace gs::runtime {

class MappedFile {
 public:
  MappedFile() = default;
  ~MappedFile();
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  static Expected<MappedFile> open(const std::string& path);

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // Bytes of [offset, offset+len) currently resident in this process's page cache view.
  size_t resident_bytes(size_t offset, size_t len) const;
  // Tell the kernel we access [offset, offset+len) randomly (no read-ahead), e.g. the PLE table.
  void advise_random(size_t offset, size_t len) const;
  // Start reading [offset, offset+len) ahead of use (loading a group's tensors).
  void prefetch(size_t offset, size_t len) const;
  // Drop our pages of [offset, offset+len) (clean, file-backed: they are re-read on next touch).
  void drop_pages(size_t offset, size_t len) const;

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

}  // namespace gs::runtime
