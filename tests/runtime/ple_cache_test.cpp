// The PLE row cache: rows read through a tiny cache (constant eviction) equal the mapped rows and
// the fully resident table; hits are counted; resident bytes stay bounded by the cache size.
#include <gtest/gtest.h>

#include "runtime/models/gemma3n/ple_table.h"
#include "runtime/weights/safetensors.h"
#include "tests/support/compare.h"

namespace gs::runtime::gemma3n {
namespace {

TEST(PleCache, EvictingCacheMatchesResidentTable) {
  auto ws = WeightStore::open(test::fixture_path("gemma3n-tiny/model"));
  ASSERT_TRUE(ws.ok());
  const TensorRef* t = ws->find("model.language_model.embed_tokens_per_layer.weight");
  ASSERT_NE(t, nullptr);
  const int L = 10, P = 16;
  const size_t row_bytes = static_cast<size_t>(L * P) * 4;
  PleTable small(*t, L, P, PleOptions{3 * row_bytes, false});
  PleTable resident(*t, L, P, PleOptions{0, true});
  const auto all = t->to_f32();
  std::vector<float> a(L * P), b(L * P);
  const int32_t seq[] = {5, 6, 5, 7, 8, 9, 5, 200, 5, 255, 0, 6};
  for (int32_t tok : seq) {
    small.read_row(tok, a.data());
    resident.read_row(tok, b.data());
    EXPECT_EQ(a, b);
    EXPECT_TRUE(std::equal(a.begin(), a.end(), all.begin() + tok * L * P));
  }
  const auto st = small.stats();
  EXPECT_EQ(st.hits + st.misses, 12);
  EXPECT_GE(st.hits, 2);  // the repeats of 5 right after its use hit
  EXPECT_LE(st.cached_bytes, 3 * row_bytes);
  std::vector<float> slot(P);
  small.read(200, 4, slot.data());
  EXPECT_TRUE(std::equal(slot.begin(), slot.end(), all.begin() + 200 * L * P + 4 * P));
}

}  // namespace
}  // namespace gs::runtime::gemma3n
