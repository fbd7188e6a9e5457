#include "runtime/weights/convert_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>

#include "runtime/kernels/q4_interleave.h"
#include "runtime/kernels/quant.h"

namespace gs::runtime {
namespace {

constexpr char kMagic[8] = {'G', 'S', '3', 'N', 'Q', 'C', '0', '1'};
constexpr uint64_t kHeaderBytes = 64;
constexpr uint64_t kAlign = 64;
constexpr uint32_t kMaxName = 4096;

// FNV-1a over bytes, two lanes with different bases: an identifier, not a security hash.
struct Fnv128 {
  uint64_t a = 0xcbf29ce484222325ull, b = 0x84222325cbf29ce4ull;
  void add(const void* p, size_t n) {
    const auto* c = static_cast<const uint8_t*>(p);
    for (size_t i = 0; i < n; ++i) {
      a = (a ^ c[i]) * 0x100000001b3ull;
      b = (b ^ c[i] ^ 0x5a) * 0x100000001b3ull;
    }
  }
  template <typename T>
  void add_value(const T& v) { add(&v, sizeof(v)); }
  void add_string(const std::string& s) {
    add_value(s.size());
    add(s.data(), s.size());
  }
  std::string hex() const {
    char buf[33];
    std::snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(a),
                  static_cast<unsigned long long>(b));
    return buf;
  }
};

uint64_t read_u64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

bool valid_format(uint32_t f) { return f <= static_cast<uint32_t>(WeightFormat::kQ4); }

// An entry's format word: the WeightFormat in the low byte, the row group above it (0 in files
// written before interleaved rows existed: plain).
constexpr uint32_t kGroupShift = 8;
uint32_t format_word(const WeightView& v) {
  return static_cast<uint32_t>(v.format) | (static_cast<uint32_t>(v.interleave) << kGroupShift);
}

size_t row_bytes_of(WeightFormat f, int64_t cols) {
  if (cols % block_cols(f) != 0) return 0;
  return quant_row_bytes(f, cols);
}

Status write_all(int fd, const void* p, size_t n, uint64_t at) {
  const auto* c = static_cast<const uint8_t*>(p);
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, c, n, static_cast<off_t>(at));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return make_error(ErrorCode::kInternal, std::string("cache write failed: ") + std::strerror(errno));
    c += w;
    n -= static_cast<size_t>(w);
    at += static_cast<uint64_t>(w);
  }
  return ok_status();
}

// Cursor over the index bytes; every read is bounds-checked.
struct IndexReader {
  const uint8_t* p;
  size_t left;
  bool take(void* out, size_t n) {
    if (n > left) return false;
    std::memcpy(out, p, n);
    p += n;
    left -= n;
    return true;
  }
};

// The whole file into dst with pread (the kernel reads ahead sequentially).
Status read_exact(const std::string& path, uint8_t* dst, size_t size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error(ErrorCode::kNotFound, "cannot open " + path + ": " + std::strerror(errno));
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, dst + done, std::min<size_t>(size - done, size_t{64} << 20), static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return make_error(ErrorCode::kCorruptFile, path + ": short read");
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return ok_status();
}

}  // namespace

std::string checkpoint_fingerprint(const WeightStore& ws) {
  Fnv128 h;
  // Bumped whenever the stored layout changes (v2: transposed down_proj in sparse FFN layers;
  // v3: q4 blocks of 64).
  h.add_string("gemma3n-server convert cache v3");
  for (const auto& f : ws.files()) {
    h.add_string(std::filesystem::path(f->path()).filename().string());
    h.add_value(f->size());
    struct stat st {};
    if (::stat(f->path().c_str(), &st) == 0) {
      h.add_value(static_cast<int64_t>(st.st_mtim.tv_sec));
      h.add_value(static_cast<int64_t>(st.st_mtim.tv_nsec));
    }
    const uint8_t* d = f->data();
    const size_t n = f->size();
    if (n < 8) continue;
    const uint64_t header = std::min<uint64_t>(read_u64(d), n - 8);
    h.add(d, 8 + header);
    // Samples of the tensor data: catches a checkpoint rewritten in place with the same
    // shapes (e.g. another random seed) even when the file times are restored.
    const size_t data0 = 8 + header, span = n - data0, chunk = 4096;
    for (int i = 0; i < 256 && span > 0; ++i) {
      const size_t at = data0 + span / 256 * static_cast<size_t>(i);
      h.add(d + at, std::min(chunk, n - at));
    }
  }
  return h.hex();
}

std::string default_convert_cache_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/gemma3n-server";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/gemma3n-server";
  return "";
}

std::string convert_cache_path(const std::string& dir, const std::string& fingerprint, WeightFormat f,
                               const std::string& variant) {
  return dir + "/" + fingerprint + "-" + weight_format_name(f) + (variant.empty() ? "" : "-" + variant) + ".gsq";
}

Expected<std::unique_ptr<ConvertCacheReader>> ConvertCacheReader::open(const std::string& path) {
  if (!std::filesystem::exists(path)) return make_error(ErrorCode::kNotFound, "no cache file " + path);
  auto mf = MappedFile::open(path);
  if (!mf.ok()) return mf.error();
  std::unique_ptr<ConvertCacheReader> r(new ConvertCacheReader());
  const MappedFile file = std::move(mf).value();
  const uint8_t* d = file.data();
  const uint64_t size = file.size();
  auto bad = [&](const std::string& why) { return make_error(ErrorCode::kCorruptFile, path + ": " + why); };
  if (size < kHeaderBytes || std::memcmp(d, kMagic, 8) != 0) return bad("not a convert cache file");
  const uint64_t index_at = read_u64(d + 16), index_bytes = read_u64(d + 24), count = read_u64(d + 32);
  if (index_at < kHeaderBytes || index_at > size || index_bytes != size - index_at) return bad("bad index bounds");
  IndexReader in{d + index_at, static_cast<size_t>(index_bytes)};
  for (uint64_t i = 0; i < count; ++i) {
    uint32_t name_len = 0, fmt = 0;
    int64_t rows = 0, cols = 0;
    uint64_t row_bytes = 0, offset = 0;
    if (!in.take(&name_len, 4) || name_len == 0 || name_len > kMaxName) return bad("bad entry name");
    std::string name(name_len, '\0');
    if (!in.take(name.data(), name_len) || !in.take(&fmt, 4) || !in.take(&rows, 8) || !in.take(&cols, 8) ||
        !in.take(&row_bytes, 8) || !in.take(&offset, 8))
      return bad("truncated index");
    const uint32_t group_word = fmt >> kGroupShift;
    fmt &= (1u << kGroupShift) - 1;
    if (!valid_format(fmt) || rows <= 0 || cols <= 0 || rows > (int64_t{1} << 32) || cols > (int64_t{1} << 32))
      return bad("bad entry " + name);
    const auto f = static_cast<WeightFormat>(fmt);
    const int32_t group = group_word == 0 ? 1 : static_cast<int32_t>(group_word);
    if (group != 1 && group != q4_row_group_for(f, rows, cols, group)) return bad("bad row group in " + name);
    if (row_bytes == 0 || row_bytes != row_bytes_of(f, cols)) return bad("bad row size in " + name);
    if (offset % kAlign != 0 || offset < kHeaderBytes || offset > index_at ||
        row_bytes > (index_at - offset) / static_cast<uint64_t>(rows))
      return bad("entry " + name + " out of bounds");
    r->entries_[name] = WeightView{f, rows, cols, static_cast<size_t>(row_bytes), d + offset, group};
  }
  if (in.left != 0) return bad("trailing index bytes");
  // Read (not copy through the mapping: touching mapped pages would count them in our RSS next
  // to the copy, doubling the load peak) into huge-page weight memory; views are rebased.
  r->data_ = alloc_weight_memory(size);
  if (auto st = read_exact(path, r->data_.get(), size); !st.ok()) return st.error();
  // A cache rewritten (renamed over) between the mapping and the read: the header and index we
  // validated must be the ones we read.
  if (std::memcmp(r->data_.get(), d, kHeaderBytes) != 0 || std::memcmp(r->data_.get() + index_at, d + index_at, index_bytes) != 0)
    return bad("changed while loading");
  r->size_ = size;
  for (auto& [name, v] : r->entries_) v.data = r->data_.get() + (v.data - d);
  return r;
}

const WeightView* ConvertCacheReader::find(const std::string& name, WeightFormat f, int64_t rows, int64_t cols,
                                           int32_t interleave) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) return nullptr;
  const WeightView& v = it->second;
  return v.format == f && v.rows == rows && v.cols == cols && v.interleave == interleave ? &v : nullptr;
}

ConvertCacheWriter::~ConvertCacheWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_path_.c_str());
  }
}

Expected<std::unique_ptr<ConvertCacheWriter>> ConvertCacheWriter::create(const std::string& final_path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(final_path).parent_path(), ec);
  std::unique_ptr<ConvertCacheWriter> w(new ConvertCacheWriter());
  w->final_path_ = final_path;
  w->tmp_path_ = final_path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(std::random_device{}());
  w->fd_ = ::open(w->tmp_path_.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
  if (w->fd_ < 0)
    return make_error(ErrorCode::kInternal, "cannot create " + w->tmp_path_ + ": " + std::strerror(errno));
  w->pos_ = kHeaderBytes;
  return w;
}

Status ConvertCacheWriter::add(const std::string& name, const WeightView& v) {
  if (fd_ < 0) return make_error(ErrorCode::kInternal, "cache writer is closed");
  pos_ = (pos_ + kAlign - 1) / kAlign * kAlign;
  if (auto st = write_all(fd_, v.data, v.bytes(), pos_); !st.ok()) return st;
  entries_.push_back({name, WeightView{v.format, v.rows, v.cols, v.row_bytes, nullptr, v.interleave}, pos_});
  pos_ += v.bytes();
  return ok_status();
}

Status ConvertCacheWriter::commit() {
  if (fd_ < 0) return make_error(ErrorCode::kInternal, "cache writer is closed");
  std::string index;
  auto put = [&](const void* p, size_t n) { index.append(static_cast<const char*>(p), n); };
  for (const Entry& e : entries_) {
    const auto name_len = static_cast<uint32_t>(e.name.size());
    const uint32_t fmt = format_word(e.view);
    const uint64_t row_bytes = e.view.row_bytes;
    put(&name_len, 4);
    put(e.name.data(), e.name.size());
    put(&fmt, 4);
    put(&e.view.rows, 8);
    put(&e.view.cols, 8);
    put(&row_bytes, 8);
    put(&e.offset, 8);
  }
  uint8_t header[kHeaderBytes] = {};
  std::memcpy(header, kMagic, 8);
  const uint64_t version = 1, index_at = pos_, index_bytes = index.size(), count = entries_.size();
  std::memcpy(header + 8, &version, 8);
  std::memcpy(header + 16, &index_at, 8);
  std::memcpy(header + 24, &index_bytes, 8);
  std::memcpy(header + 32, &count, 8);
  if (auto st = write_all(fd_, index.data(), index.size(), index_at); !st.ok()) return st;
  if (auto st = write_all(fd_, header, sizeof(header), 0); !st.ok()) return st;
  if (::fsync(fd_) != 0 || ::close(fd_) != 0) {
    fd_ = -1;
    ::unlink(tmp_path_.c_str());
    return make_error(ErrorCode::kInternal, "cannot sync " + tmp_path_);
  }
  fd_ = -1;
  if (::rename(tmp_path_.c_str(), final_path_.c_str()) != 0) {
    ::unlink(tmp_path_.c_str());
    return make_error(ErrorCode::kInternal, "cannot rename cache to " + final_path_ + ": " + std::strerror(errno));
  }
  return ok_status();
}

}  // namespace gs::runtime
