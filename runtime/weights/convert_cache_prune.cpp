#include "runtime/weights/convert_cache_prune.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <system_error>
#include <vector>

namespace gs::runtime {
namespace fs = std::filesystem;

namespace {

struct CacheFile {
  fs::path path;
  uint64_t bytes;
  fs::file_time_type used;
};

bool is_cache_file(const fs::path& p) { return p.extension() == ".gsq"; }

// Writers name their temporary files <final>.tmp.<pid>.<random>.
bool is_stale_temp(const fs::directory_entry& e) {
  if (e.path().filename().string().find(".gsq.tmp.") == std::string::npos) return false;
  std::error_code ec;
  const auto t = e.last_write_time(ec);
  return !ec && fs::file_time_type::clock::now() - t > std::chrono::hours(1);
}

}  // namespace

PruneReport prune_convert_cache(const std::string& dir, const std::string& keep_path, uint64_t max_bytes) {
  PruneReport rep;
  std::error_code ec;
  std::vector<CacheFile> files;
  const fs::path keep = keep_path.empty() ? fs::path() : fs::weakly_canonical(keep_path, ec);
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::error_code fe;
    if (!e.is_regular_file(fe) || e.is_symlink(fe)) continue;
    if (is_stale_temp(e)) {
      const uint64_t n = e.file_size(fe);
      if (fs::remove(e.path(), fe)) ++rep.removed, rep.removed_bytes += n;
      continue;
    }
    if (!is_cache_file(e.path())) continue;
    const uint64_t n = e.file_size(fe);
    const auto t = e.last_write_time(fe);
    if (fe) continue;
    files.push_back({e.path(), n, t});
  }
  uint64_t total = 0;
  for (const auto& f : files) total += f.bytes;
  std::sort(files.begin(), files.end(), [](const CacheFile& a, const CacheFile& b) { return a.used < b.used; });
  for (const auto& f : files) {
    if (total <= max_bytes) break;
    std::error_code fe;
    if (!keep.empty() && fs::weakly_canonical(f.path, fe) == keep) continue;
    if (fs::remove(f.path, fe)) {
      total -= f.bytes;
      ++rep.removed;
      rep.removed_bytes += f.bytes;
    }
  }
  rep.kept_bytes = total;
  return rep;
}

void touch_convert_cache(const std::string& path) {
  ::utimensat(AT_FDCWD, path.c_str(), nullptr, 0);  // best effort: a read-only cache stays usable
}

}  // namespace gs::runtime
