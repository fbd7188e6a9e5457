// Keeps the convert-cache directory bounded. Every checkpoint, format and layout leaves its own
// file (E2B q4 ~1.4 GB, E4B q8 ~4.5 GB), and a changed checkpoint leaves its old files behind, so
// without pruning the directory only grows. Policy: least recently used first (a file's mtime
// is refreshed each time it is loaded), until the *.gsq files fit the cap; the file in use is
// never removed. Temporary files of writers that died (older than an hour) go too.
#pragma once
#include <cstdint>
#include <string>

namespace gs::runtime {

inline constexpr uint64_t kConvertCacheMaxBytes = uint64_t{16} << 30;

struct PruneReport {
  int removed = 0;
  uint64_t removed_bytes = 0, kept_bytes = 0;
};

// Prunes `dir` down to `max_bytes` of cache files, keeping `keep_path`. Errors (a file that
// cannot be removed, a missing directory) are skipped: pruning is best effort, never fatal.
PruneReport prune_convert_cache(const std::string& dir, const std::string& keep_path, uint64_t max_bytes);

// Marks a cache file as used now (mtime), so that the LRU order follows loads, not writes.
void touch_convert_cache(const std::string& path);

}  // namespace gs::runtime
