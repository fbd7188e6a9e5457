// Black-box tests of the real gemma3n-server binary on an ephemeral loopback port.
// Error paths run against the tiny fixture model (it has no tokenizer, so the server stays
// "not ready" and must still validate, limit and authenticate). Generation tests need a model
// with a tokenizer: $GS_TEST_MODEL_DIR or models/demo; they skip when there is none.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <thread>

#include "tests/server/http_client.h"
#include "tests/support/test_paths.h"

namespace gs::test {
namespace {

using nlohmann::json;

const std::string kChat = R"({"messages":[{"role":"user","content":"Hello"}],"max_tokens":4,"temperature":0})";

std::string fixture_model() { return fixture_path("gemma3n-tiny/model"); }

TEST(ServerBinary, HelpAndBadFlags) {
  const std::string cmd = bin_path("gemma3n-server");
  FILE* p = ::popen((cmd + " --help 2>&1").c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  EXPECT_EQ(WEXITSTATUS(::pclose(p)), 0);
  for (const char* f : {"--model", "--port", "--weights", "--api-key", "--cors-origin", "--max-body-bytes"})
    EXPECT_NE(out.find(f), std::string::npos) << f;
  EXPECT_EQ(WEXITSTATUS(std::system((cmd + " --port nope >/dev/null 2>&1").c_str())), 2);
}

TEST(ServerBinary, ErrorPathsWhileNotReady) {
  ServerProcess s({"--model", fixture_model(), "--api-key", "k1", "--max-body-bytes", "4096"});
  ASSERT_GT(s.port(), 0) << s.log();
  const std::map<std::string, std::string> auth{{"Authorization", "Bearer k1"}};
  auto health = http_request(s.port(), "GET", "/health");
  EXPECT_EQ(health.status, 503);  // loading, or failed: this model has no tokenizer
  EXPECT_FALSE(health.headers["retry-after"].empty());
  EXPECT_EQ(http_request(s.port(), "GET", "/v1/models").status, 401);
  EXPECT_EQ(http_request(s.port(), "POST", "/v1/chat/completions", kChat, {{"Authorization", "Bearer k2"}}).status, 401);
  auto malformed = http_request(s.port(), "POST", "/v1/chat/completions", "{\"messages\":", auth);
  EXPECT_EQ(malformed.status, 400);
  EXPECT_TRUE(json::parse(malformed.body)["error"].contains("message"));
  auto wrong = http_request(s.port(), "POST", "/v1/chat/completions",
                            R"({"messages":[{"role":"user","content":"x"}],"n":"2"})", auth);
  EXPECT_EQ(wrong.status, 400);
  EXPECT_EQ(json::parse(wrong.body)["error"]["param"], "n");
  EXPECT_EQ(http_request(s.port(), "POST", "/v1/chat/completions", std::string(5000, ' '), auth).status, 413);
  auto not_ready = http_request(s.port(), "POST", "/v1/chat/completions", kChat, auth);
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_FALSE(not_ready.headers["retry-after"].empty());
  EXPECT_EQ(s.terminate(), 0) << s.log();
}

class ServerWithModel : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_model_dir();
    if (dir_.empty()) GTEST_SKIP() << "no model with a tokenizer (set GS_TEST_MODEL_DIR or run scripts/make-demo-model.sh)";
  }
  std::string dir_;
};

TEST_F(ServerWithModel, ChatCompletionsEndToEnd) {
  ServerProcess s({"--model", dir_, "--model-name", "test-model", "--threads", "2"});
  ASSERT_GT(s.port(), 0) << s.log();
  ASSERT_TRUE(s.wait_ready(60)) << s.log();
  auto models = http_request(s.port(), "GET", "/v1/models");
  ASSERT_EQ(models.status, 200);
  EXPECT_EQ(json::parse(models.body)["data"][0]["id"], "test-model");

  auto r = http_request(s.port(), "POST", "/v1/chat/completions", kChat);
  ASSERT_EQ(r.status, 200) << r.body << s.log();
  auto j = json::parse(r.body);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["model"], "test-model");
  const std::string finish = j["choices"][0]["finish_reason"];
  EXPECT_TRUE(finish == "stop" || finish == "length") << finish;
  EXPECT_GT(j["usage"]["prompt_tokens"].get<int>(), 0);
  EXPECT_LE(j["usage"]["completion_tokens"].get<int>(), 4);

  auto st = http_request(s.port(), "POST", "/v1/chat/completions",
                         R"({"messages":[{"role":"user","content":"Hi"}],"max_tokens":3,"stream":true,)"
                         R"("stream_options":{"include_usage":true},"logprobs":true,"top_logprobs":2})");
  ASSERT_EQ(st.status, 200);
  auto payloads = sse_payloads(st.body);
  ASSERT_GE(payloads.size(), 3u);
  EXPECT_EQ(payloads.back(), "[DONE]");
  EXPECT_TRUE(json::parse(payloads[payloads.size() - 2])["choices"].empty());

  auto comp = http_request(s.port(), "POST", "/v1/completions", R"({"prompt":"Once","max_tokens":2})");
  EXPECT_EQ(comp.status, 200) << comp.body;
  EXPECT_EQ(http_request(s.port(), "POST", "/v1/chat/completions",
                         R"({"model":"nope","messages":[{"role":"user","content":"x"}]})").status, 404);
  auto metrics = http_request(s.port(), "GET", "/metrics");
  EXPECT_NE(metrics.body.find("gemma3n_http_requests_total"), std::string::npos);
  for (const char* m : {"gemma3n_ple_cache_hits_total", "gemma3n_group_loaded{group=\"vision\"} 0",
                        "gemma3n_requests_by_size_total{size=", "gemma3n_weights_resident_bytes{group=\"text_core\"}"})
    EXPECT_NE(metrics.body.find(m), std::string::npos) << m;
  EXPECT_EQ(s.terminate(), 0) << s.log();
}

TEST_F(ServerWithModel, DisconnectMidStreamFreesTheSlot) {
  // One slot and a one-deep hand-off queue: after the first stream is dropped, a second request
  // is served (retrying on 429 as clients do) long before the first's 2000 tokens could finish.
  ServerProcess s({"--model", dir_, "--max-batch", "1", "--max-queue", "1", "--threads", "2"});
  ASSERT_GT(s.port(), 0) << s.log();
  ASSERT_TRUE(s.wait_ready(60)) << s.log();
  const std::string got = stream_then_disconnect(
      s.port(), "/v1/chat/completions",
      R"({"messages":[{"role":"user","content":"Tell a long story"}],"max_tokens":2000,"min_p":0,"stream":true})",
      1500);  // headers, role chunk and several content chunks: generation is under way
  EXPECT_NE(got.find("200"), std::string::npos);
  const auto t0 = std::chrono::steady_clock::now();
  HttpResult r;
  do {
    r = http_request(s.port(), "POST", "/v1/chat/completions", kChat);
    if (r.status == 429) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (r.status == 429 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(s.log().find(" 499 "), std::string::npos) << s.log();  // logged as client-closed
  EXPECT_EQ(s.terminate(), 0) << s.log();
}



std::string base64_of_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  const std::string in((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
  }
  if (i + 1 == in.size()) {
    const uint32_t v = uint8_t(in[i]) << 16;
    out += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
  }
  return out;
}

std::string image_chat() {
  return R"({"max_tokens":3,"messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},)"
         R"({"type":"image_url","image_url":{"url":"data:image/png;base64,)" +
         base64_of_file(fixture_path("gemma3n-tiny/golden/image_input_rgb.png")) + R"("}}]}]})";
}

// The vision tower loads on the first image request (not before), and --modalities can forbid it.
TEST_F(ServerWithModel, ImageChatLoadsVisionOnFirstUseAndModalitiesCanForbidIt) {
  {
    ServerProcess s({"--model", dir_, "--threads", "2"});
    ASSERT_TRUE(s.wait_ready(60)) << s.log();
    auto h = json::parse(http_request(s.port(), "GET", "/health").body);
    EXPECT_EQ(h["modalities"]["vision"], "unloaded");
    auto r = http_request(s.port(), "POST", "/v1/chat/completions", image_chat());
    ASSERT_EQ(r.status, 200) << r.body << s.log();
    EXPECT_EQ(json::parse(r.body)["usage"]["prompt_tokens_details"]["image_tokens"], 16);  // the tiny tower's grid
    h = json::parse(http_request(s.port(), "GET", "/health").body);
    EXPECT_EQ(h["modalities"]["vision"], "loaded");
    EXPECT_EQ(h["modalities"]["audio"], "unloaded");
    auto bad = http_request(s.port(), "POST", "/v1/chat/completions",
                            R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":)"
                            R"({"url":"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA"}}]}]})");
    EXPECT_EQ(bad.status, 400) << bad.body;  // a truncated PNG
    EXPECT_EQ(s.terminate(), 0) << s.log();
  }
  ServerProcess s({"--model", dir_, "--threads", "1", "--modalities", "text"});
  ASSERT_TRUE(s.wait_ready(60)) << s.log();
  auto r = http_request(s.port(), "POST", "/v1/chat/completions", image_chat());
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(json::parse(http_request(s.port(), "GET", "/health").body)["modalities"]["vision"], "disabled");
  EXPECT_EQ(s.terminate(), 0) << s.log();
}

}  // namespace
}  // namespace gs::test
