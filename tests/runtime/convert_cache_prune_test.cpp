// Pruning of the convert-cache directory: least recently used *.gsq files go first, down to the
// cap; the file in use, other files and fresh temporaries stay; stale temporaries go.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "runtime/weights/convert_cache_prune.h"

namespace gs::runtime {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("gs-prune-" + std::to_string(::getpid()) + "-" +
                                               ::testing::UnitTest::GetInstance()->current_test_info()->name());
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

fs::path put(const fs::path& dir, const std::string& name, size_t bytes, fs::file_time_type::duration age) {
  const fs::path p = dir / name;
  std::ofstream(p, std::ios::binary) << std::string(bytes, 'x');
  fs::last_write_time(p, fs::file_time_type::clock::now() - age);
  return p;
}

TEST(ConvertCachePrune, LeastRecentlyUsedGoFirstDownToTheCap) {
  TempDir d;
  const auto keep = put(d.path, "a-q4.gsq", 100, 48h);  // oldest, but in use
  const auto mid = put(d.path, "b-q8.gsq", 100, 24h);
  const auto young = put(d.path, "c-q4.gsq", 100, 1h);
  const auto newest = put(d.path, "d-q4-dense.gsq", 100, 1min);
  const auto other = put(d.path, "notes.txt", 1000, 72h);
  const auto stale_tmp = put(d.path, "e-q4.gsq.tmp.12.34", 100, 2h);
  const auto fresh_tmp = put(d.path, "f-q4.gsq.tmp.56.78", 100, 1min);
  const PruneReport r = prune_convert_cache(d.path.string(), keep.string(), 250);
  EXPECT_TRUE(fs::exists(keep));
  EXPECT_FALSE(fs::exists(mid));
  EXPECT_FALSE(fs::exists(young));
  EXPECT_TRUE(fs::exists(newest));
  EXPECT_TRUE(fs::exists(other));
  EXPECT_FALSE(fs::exists(stale_tmp));
  EXPECT_TRUE(fs::exists(fresh_tmp));
  EXPECT_EQ(r.removed, 3);
  EXPECT_EQ(r.removed_bytes, 300u);
  EXPECT_EQ(r.kept_bytes, 200u);
}

TEST(ConvertCachePrune, UnderTheCapNothingGoes) {
  TempDir d;
  const auto a = put(d.path, "a-q4.gsq", 100, 48h);
  const auto b = put(d.path, "b-q4.gsq", 100, 1h);
  const PruneReport r = prune_convert_cache(d.path.string(), "", 200);
  EXPECT_EQ(r.removed, 0);
  EXPECT_TRUE(fs::exists(a) && fs::exists(b));
}

TEST(ConvertCachePrune, TouchMakesAFileRecentlyUsed) {
  TempDir d;
  const auto a = put(d.path, "a-q4.gsq", 100, 48h);
  const auto b = put(d.path, "b-q4.gsq", 100, 24h);
  touch_convert_cache(a.string());  // loaded just now: b is the least recently used
  prune_convert_cache(d.path.string(), "", 150);
  EXPECT_TRUE(fs::exists(a));
  EXPECT_FALSE(fs::exists(b));
}

TEST(ConvertCachePrune, MissingDirectoryIsNotAnError) {
  const PruneReport r = prune_convert_cache("/nonexistent/gs-prune-dir", "", 0);
  EXPECT_EQ(r.removed, 0);
  touch_convert_cache("/nonexistent/gs-prune-dir/a.gsq");
}

}  // namespace
}  // namespace gs::runtime
