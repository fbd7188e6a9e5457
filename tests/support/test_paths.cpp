#include "tests/support/test_paths.h"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <vector>
#include <unistd.h>

namespace gs::test {
std::string fixture_path(const std::string& rel) { return std::string(GS_TEST_DATA_DIR) + "/" + rel; }
std::string source_path(const std::string& rel) { return std::string(GS_SOURCE_DIR) + "/" + rel; }
std::string bin_path(const std::string& name) { return std::string(GS_BIN_DIR) + "/" + name; }

namespace {
// Every directory temp_dir() made goes when the test process exits (GS_KEEP_TEST_DIRS=1 keeps
// them for a post-mortem): a full suite writes ~1 GB of checkpoints and caches there.
struct TempDirs {
  std::mutex mu;
  std::vector<std::filesystem::path> dirs;
  ~TempDirs() {
    if (const char* keep = std::getenv("GS_KEEP_TEST_DIRS"); keep && *keep == '1') return;
    std::error_code ec;
    for (const auto& d : dirs) std::filesystem::remove_all(d, ec);
  }
};
TempDirs& temp_dirs() {
  static TempDirs t;
  return t;
}
}  // namespace

std::string temp_dir(const std::string& tag) {
  static std::atomic<int> counter{0};
  const char* base = std::getenv("TMPDIR");
  std::filesystem::path p = std::filesystem::path(base ? base : "/tmp") /
                            ("gs-test-" + tag + "-" + std::to_string(::getpid()) + "-" +
                             std::to_string(counter++));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  TempDirs& t = temp_dirs();
  std::lock_guard lock(t.mu);
  t.dirs.push_back(p);
  return p.string();
}
}  // namespace gs::test
