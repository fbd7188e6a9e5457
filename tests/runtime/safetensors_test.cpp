// safetensors and model-directory loading: hostile or truncated files are clear errors, never
// crashes (mutation fuzzing of a real file), and valid files load from every layout.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "runtime/models/gemma3n/config.h"
#include "runtime/weights/safetensors.h"
#include "tests/support/compare.h"

namespace gs::runtime {
namespace {

std::string write_bytes(const std::string& dir, const std::string& name, const std::string& bytes) {
  const std::string p = dir + "/" + name;
  std::ofstream(p, std::ios::binary) << bytes;
  return p;
}

std::string file_with_header(const std::string& header, size_t data_bytes) {
  std::string s(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(s.data(), &n, 8);
  return s + header + std::string(data_bytes, '\x01');
}

TEST(Safetensors, HostileHeadersAreErrors) {
  const std::string dir = test::temp_dir("st-hostile");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"short", std::string("\x10\x00", 2)},
      {"huge-header-len", std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8)},
      {"not-json", file_with_header("{nope", 0)},
      {"array", file_with_header("[1,2]", 0)},
      {"bad-dtype", file_with_header(R"({"a":{"dtype":"Q9","shape":[1],"data_offsets":[0,4]}})", 4)},
      {"out-of-bounds", file_with_header(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8)},
      {"size-mismatch", file_with_header(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", 16)},
      {"overlap", file_with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                   R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 16)},
      {"reversed", file_with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", 16)},
      {"negative-dim", file_with_header(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4)},
      {"giant-dim", file_with_header(R"({"a":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,4]}})", 4)},
      {"missing-offsets", file_with_header(R"({"a":{"dtype":"F32","shape":[1]}})", 4)},
  };
  for (const auto& [name, bytes] : cases) {
    auto ws = WeightStore::open_files({write_bytes(dir, name + ".safetensors", bytes)});
    EXPECT_FALSE(ws.ok()) << name;
    if (!ws.ok()) {
      EXPECT_FALSE(ws.error().message.empty()) << name;
    }
  }
}

TEST(Safetensors, MutatedAndTruncatedRealFilesNeverCrash) {
  std::ifstream f(test::fixture_path("gemma3n-tiny/model-sharded/model-00001-of-00002.safetensors"), std::ios::binary);
  const std::string orig((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  uint64_t hlen = 0;
  std::memcpy(&hlen, orig.data(), 8);
  const std::string dir = test::temp_dir("st-fuzz");
  std::mt19937 rng(1234);
  int rejected = 0;
  for (int i = 0; i < 300; ++i) {
    std::string s = orig;
    if (i % 3 == 0) {
      s.resize(rng() % (hlen + 64));  // truncated inside or just after the header
    } else {
      const int flips = 1 + static_cast<int>(rng() % 8);
      for (int k = 0; k < flips; ++k) s[8 + rng() % hlen] = static_cast<char>(rng());  // header bytes
    }
    auto ws = WeightStore::open_files({write_bytes(dir, "m.safetensors", s)});
    if (!ws.ok()) {
      ++rejected;
      continue;
    }
    for (const auto& [name, t] : ws->tensors()) (void)t.to_f32();  // whatever parsed must be readable
  }
  EXPECT_GT(rejected, 100);
}

TEST(Safetensors, ShardIndexMustBeConsistent) {
  const std::string dir = test::temp_dir("st-index");
  namespace fs = std::filesystem;
  for (const char* f : {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "config.json"})
    fs::copy_file(test::fixture_path(std::string("gemma3n-tiny/model-sharded/") + f), dir + "/" + f);
  write_bytes(dir, "model.safetensors.index.json", R"({"weight_map":{"x":"../../etc/passwd"}})");
  EXPECT_FALSE(WeightStore::open(dir).ok());
  write_bytes(dir, "model.safetensors.index.json", R"({"weight_map":{"no.such.tensor":"model-00001-of-00002.safetensors"}})");
  EXPECT_FALSE(WeightStore::open(dir).ok());
  fs::copy_file(test::fixture_path("gemma3n-tiny/model-sharded/model.safetensors.index.json"),
                dir + "/model.safetensors.index.json", fs::copy_options::overwrite_existing);
  auto ws = WeightStore::open(dir);
  ASSERT_TRUE(ws.ok()) << ws.error().message;
  EXPECT_NE(ws->find("model.language_model.embed_tokens.weight"), nullptr);
}

TEST(Config, MissingAndWrongKeysAreNamed) {
  auto c = gemma3n::parse_config(R"({"text_config":{"num_hidden_layers":4,"vocab_size":300}})");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("hidden_size"), std::string::npos);
  c = gemma3n::parse_config(R"({"text_config":{"hidden_size":"big","num_hidden_layers":4,"vocab_size":300}})");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("hidden_size"), std::string::npos);
  c = gemma3n::parse_config(R"({"text_config":{"hidden_size":64,"num_hidden_layers":10,"vocab_size":300,)"
                            R"("vocab_size_per_layer_input":256,"intermediate_size":128,"num_kv_shared_layers":5,)"
                            R"("unknown_key":1}})");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->text.intermediate_size, std::vector<int>(10, 128));  // scalar expanded per layer
  EXPECT_EQ(c->text.kv_source_layer(9), 4);
  EXPECT_EQ(c->text.kv_source_layer(7), 3);
  EXPECT_FALSE(gemma3n::parse_config("not json").ok());
}

}  // namespace
}  // namespace gs::runtime
