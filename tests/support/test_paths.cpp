#include "tests/support/test_paths.h"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <unistd.h>

namespace gs::test {
std::string fixture_path(const std::string& rel) { return std::string(GS_TEST_DATA_DIR) + "/" + rel; }
std::string source_path(const std::string& rel) { return std::string(GS_SOURCE_DIR) + "/" + rel; }
std::string bin_path(const std::string& name) { return std::string(GS_BIN_DIR) + "/" + name; }

std::string temp_dir(const std::string& tag) {
  static std::atomic<int> counter{0};
  const char* base = std::getenv("TMPDIR");
  std::filesystem::path p = std::filesystem::path(base ? base : "/tmp") /
                            ("gs-test-" + tag + "-" + std::to_string(::getpid()) + "-" +
                             std::to_string(counter++));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}
}  // namespace gs::test
