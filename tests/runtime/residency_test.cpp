// Loading the text model leaves the audio and vision tower tensors untouched and the PLE table
// out of the resident set (checked with mincore on the mappings after evicting the files'
// page cache).
#include <gtest/gtest.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include "runtime/models/gemma3n/random_checkpoint.h"
#include "runtime/models/gemma3n/text_model.h"
#include "tests/support/compare.h"

namespace gs::runtime::gemma3n {
namespace {

void evict_page_cache(const std::string& dir) {
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const int fd = ::open(e.path().c_str(), O_RDONLY);
    if (fd < 0) continue;
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

TEST(Residency, TextLoadTouchesNoTowerAndKeepsPleMapped) {
  ComputeContext ctx(2);
  const std::string dir = test::temp_dir("residency");
  auto cfg = preset_config_json("demo");  // real 262144-row PLE table, tiny layers
  ASSERT_TRUE(cfg.ok());
  auto merged = with_tower_configs(*cfg, test::fixture_path("gemma3n-tiny/model"));
  ASSERT_TRUE(merged.ok());
  auto rec = recipe_from_config(*merged, 5, DType::kBF16);
  ASSERT_TRUE(rec.ok());
  ASSERT_TRUE(write_checkpoint(*rec, dir, 1, test::fixture_path("gemma3n-tiny/model"), ctx).ok());
  evict_page_cache(dir);

  auto m = TextModel::load(dir, TextModelOptions{}, ctx);
  ASSERT_TRUE(m.ok()) << m.error().message;
  const auto& ws = (*m)->store();
  ASSERT_GT(ws.bytes_with_prefix("model.audio_tower."), 0u);
  ASSERT_GT(ws.bytes_with_prefix("model.vision_tower."), 0u);

  // Run a prompt so PLE rows are actually read.
  auto kv = (*m)->new_sequence((*m)->full());
  SequenceKv* kvs[] = {kv.get()};
  StepBatch b;
  for (int i = 0; i < 32; ++i) b.add(1000 + 3001 * i, i, 0, i == 31);
  StepOutput out;
  ASSERT_TRUE((*m)->forward(b, (*m)->full(), kvs, &out).ok());

  // The only tower page allowed in memory is the one the file's header shares with the first
  // tensor (the header is read to validate the file); the towers themselves are MBs.
  EXPECT_LE(ws.resident_bytes_with_prefix("model.audio_tower.") + ws.resident_bytes_with_prefix("model.vision_tower."),
            4096u);
  const auto& ple = (*m)->weights().ple;
  // 32 rows of 160 bytes: at most a few pages each (row + read-around), never the 42 MB table.
  EXPECT_LT(ple->page_cache_bytes(), ple->mapped_bytes() / 100);
  EXPECT_LE(ple->resident_bytes(), 32u * 160);  // our own copies: the 32 rows read (10 layers x 8 x bf16)
  EXPECT_GT(ple->mapped_bytes(), 20u << 20);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gs::runtime::gemma3n
