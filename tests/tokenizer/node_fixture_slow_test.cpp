// The committed fixture must be what transformers.js produces today: reruns
// tests/node/gen_tokenizer_expect.mjs --check (needs node and `npm install` in tests/node).
#include <gtest/gtest.h>

#include <cstdlib>

#include "tests/tokenizer/real_vocab_path.h"

namespace gs::test {
namespace {

TEST(TokenizerFixture, NodeScriptReproducesExpectedIds) {
  const std::string missing = real_tokenizer_missing();
  ASSERT_TRUE(missing.empty()) << missing;
  const std::string cmd = "node " + source_path("tests/node/gen_tokenizer_expect.mjs") + " --check";
  const int rc = std::system(cmd.c_str());
  EXPECT_EQ(rc, 0) << cmd << " failed: the fixture is stale (rerun without --check) or node is missing";
}

}  // namespace
}  // namespace gs::test
