#include "runtime/weights/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace gs::runtime {
namespace {
size_t page_size() { return static_cast<size_t>(::sysconf(_SC_PAGESIZE)); }
// Page-aligned [begin, end) covering [offset, offset+len) clipped to the file.
void page_range(size_t file_size, size_t offset, size_t len, size_t* begin, size_t* end) {
  const size_t ps = page_size();
  if (offset > file_size) offset = file_size;
  if (len > file_size - offset) len = file_size - offset;
  *begin = offset / ps * ps;
  *end = (offset + len + ps - 1) / ps * ps;
}
}  // namespace

MappedFile::~MappedFile() {
  if (data_) ::munmap(data_, size_);
}

MappedFile::MappedFile(MappedFile&& o) noexcept : data_(o.data_), size_(o.size_), path_(std::move(o.path_)) {
  o.data_ = nullptr;
  o.size_ = 0;
}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    if (data_) ::munmap(data_, size_);
    data_ = o.data_;
    size_ = o.size_;
    path_ = std::move(o.path_);
    o.data_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}

Expected<MappedFile> MappedFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error(ErrorCode::kNotFound, "cannot open " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error(ErrorCode::kNotFound, "not a regular file: " + path);
  }
  MappedFile m;
  m.path_ = path;
  m.size_ = static_cast<size_t>(st.st_size);
  if (m.size_ > 0) {
    void* p = ::mmap(nullptr, m.size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      return make_error(ErrorCode::kInternal, "mmap failed for " + path + ": " + std::strerror(errno));
    }
    m.data_ = static_cast<uint8_t*>(p);
    // No read-ahead by default: a fault in one parameter group must not pull the neighbouring
    // groups (towers, the PLE table) into memory. Groups being loaded ask for their own ranges
    // with prefetch().
    ::madvise(m.data_, m.size_, MADV_RANDOM);
  }
  ::close(fd);
  return m;
}

size_t MappedFile::resident_bytes(size_t offset, size_t len) const {
  if (!data_ || len == 0) return 0;
  size_t b, e;
  page_range(size_, offset, len, &b, &e);
  const size_t ps = page_size();
  std::vector<unsigned char> vec((e - b) / ps);
  if (vec.empty() || ::mincore(data_ + b, e - b, vec.data()) != 0) return 0;
  size_t n = 0;
  for (unsigned char c : vec) n += (c & 1);
  return n * ps;
}

void MappedFile::advise_random(size_t offset, size_t len) const {
  if (!data_ || len == 0) return;
  size_t b, e;
  page_range(size_, offset, len, &b, &e);
  ::madvise(data_ + b, e - b, MADV_RANDOM);
}

void MappedFile::prefetch(size_t offset, size_t len) const {
  if (!data_ || len == 0) return;
  size_t b, e;
  page_range(size_, offset, len, &b, &e);
  ::madvise(data_ + b, e - b, MADV_WILLNEED);
}

void MappedFile::drop_pages(size_t offset, size_t len) const {
  if (!data_ || len == 0) return;
  size_t b, e;
  page_range(size_, offset, len, &b, &e);
  ::madvise(data_ + b, e - b, MADV_DONTNEED);
}

}  // namespace gs::runtime
