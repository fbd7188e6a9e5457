// The HTTP layer over real loopback sockets, with the scripted FakeEngine behind it: limits,
// auth, CORS, errors, SSE framing, disconnect → cancel, keep-alive, graceful shutdown.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "server/app.h"
#include "server/middleware/auth.h"
#include "tests/api/fake_backend.h"
#include "tests/server/http_client.h"
#include "tests/server/live_server.h"

namespace gs::server {
namespace {

using nlohmann::json;
using test::http_request;

const std::string kChat = R"({"model":"gemma-test","messages":[{"role":"user","content":"hi"}]})";

using LiveServer = test::BasicLiveServer<test::FakeEngine>;

TEST(Server, HealthModelsAndRequestId) {
  LiveServer s;
  auto h = http_request(s.port, "GET", "/health");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(json::parse(h.body)["status"], "ok");
  EXPECT_EQ(h.headers["x-request-id"].rfind("req-", 0), 0u);
  auto m = http_request(s.port, "GET", "/v1/models", "", {{"x-request-id", "abc-1"}});
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.headers["x-request-id"], "abc-1");
  EXPECT_EQ(json::parse(m.body)["data"][0]["id"], "gemma-test");
  EXPECT_EQ(http_request(s.port, "GET", "/v1/models/nope").status, 404);
  EXPECT_EQ(http_request(s.port, "GET", "/v1/models/fake-model:small").status, 200);
  auto slash = http_request(s.port, "GET", "/v1/models/google/gemma-3n");
  EXPECT_EQ(slash.status, 404);  // routed to the model lookup, not "no such endpoint"
  EXPECT_NE(slash.body.find("google/gemma-3n"), std::string::npos);
  EXPECT_EQ(http_request(s.port, "GET", "/nope").status, 404);
  EXPECT_EQ(http_request(s.port, "GET", "/v1/chat/completions").status, 405);
}

TEST(Server, ChatNonStreamingAndStreaming) {
  LiveServer s;
  auto r = http_request(s.port, "POST", "/v1/chat/completions", kChat);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["choices"][0]["message"]["content"], "Hello world");
  auto st = http_request(s.port, "POST", "/v1/chat/completions",
                         R"({"messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}})");
  ASSERT_EQ(st.status, 200);
  EXPECT_EQ(st.headers["content-type"], "text/event-stream");
  auto payloads = test::sse_payloads(st.body);
  ASSERT_GE(payloads.size(), 4u);
  EXPECT_EQ(payloads.back(), "[DONE]");
  std::string content;
  for (size_t i = 0; i + 2 < payloads.size(); ++i) {
    auto c = json::parse(payloads[i]);
    if (c["choices"][0]["delta"].contains("content")) content += c["choices"][0]["delta"]["content"].get<std::string>();
  }
  EXPECT_EQ(content, "Hello world");
  EXPECT_EQ(json::parse(payloads[payloads.size() - 2])["usage"]["completion_tokens"], 12);
}

TEST(Server, ErrorBodiesAndStatuses) {
  LiveServer s;
  auto bad = http_request(s.port, "POST", "/v1/chat/completions", "{\"messages\": [");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.headers["x-should-retry"], "false");
  auto err = json::parse(bad.body)["error"];
  for (const char* k : {"message", "type", "param", "code"}) EXPECT_TRUE(err.contains(k)) << k;
  auto type = http_request(s.port, "POST", "/v1/chat/completions",
                           R"({"messages":[{"role":"user","content":"hi"}],"temperature":"warm"})");
  EXPECT_EQ(type.status, 400);
  EXPECT_EQ(json::parse(type.body)["error"]["param"], "temperature");
  auto model = http_request(s.port, "POST", "/v1/chat/completions",
                            R"({"model":"gpt-9","messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(model.status, 404);
  s.engine->queue_full = true;
  auto busy = http_request(s.port, "POST", "/v1/chat/completions", kChat);
  EXPECT_EQ(busy.status, 429);
  EXPECT_EQ(busy.headers["retry-after"], "1");
}

TEST(Server, BodyLimitGives413) {
  config::ServerConfig cfg;
  cfg.limits.max_body_bytes = 2048;
  LiveServer s(cfg);
  auto r = http_request(s.port, "POST", "/v1/chat/completions", std::string(4096, ' ') + kChat);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "request_too_large");
  // Chunked upload without Content-Length hits the parser's limit instead.
  std::string chunked = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 4; ++i) chunked += "400\r\n" + std::string(1024, ' ') + "\r\n";
  chunked += "0\r\n\r\n";
  EXPECT_NE(test::raw_exchange(s.port, chunked).find("413"), std::string::npos);
  EXPECT_EQ(http_request(s.port, "GET", "/health").status, 200);
}

TEST(Server, MalformedHttpAndSlowHeaderAreCut) {
  config::ServerConfig cfg;
  cfg.limits.header_timeout_s = 0.3;
  LiveServer s(cfg);
  EXPECT_NE(test::raw_exchange(s.port, "GARBAGE\r\n\r\n").find("400"), std::string::npos);
  const auto t0 = std::chrono::steady_clock::now();
  const std::string partial = test::raw_exchange(s.port, "GET /health HTTP/1.1\r\nHost: x\r\n", 3000);
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(partial.empty());
  EXPECT_LT(waited, 2.0);  // closed by the header timeout, not by the client's 3 s wait
}

TEST(Server, ApiKeyAndPublicHealth) {
  config::ServerConfig cfg;
  cfg.api_key = "sekrit";
  LiveServer s(cfg);
  EXPECT_EQ(http_request(s.port, "GET", "/health").status, 200);
  auto none = http_request(s.port, "GET", "/v1/models");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(json::parse(none.body)["error"]["code"], "invalid_api_key");
  EXPECT_EQ(http_request(s.port, "GET", "/v1/models", "", {{"Authorization", "Bearer wrong"}}).status, 401);
  EXPECT_EQ(http_request(s.port, "GET", "/v1/models", "", {{"Authorization", "Bearer sekri"}}).status, 401);
  EXPECT_EQ(http_request(s.port, "GET", "/v1/models", "", {{"Authorization", "Bearer sekrit"}}).status, 200);
  EXPECT_EQ(http_request(s.port, "GET", "/metrics").status, 401);
}

TEST(Server, ConstantTimeCompare) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
  EXPECT_FALSE(constant_time_equal("", "a"));
}

TEST(Server, CorsPreflightAllowsSdkHeaders) {
  config::ServerConfig cfg;
  cfg.cors_origin = "*";
  LiveServer s(cfg);
  auto pre = http_request(s.port, "OPTIONS", "/v1/chat/completions", "",
                          {{"Origin", "http://localhost:3000"}, {"Access-Control-Request-Method", "POST"},
                           {"Access-Control-Request-Headers", "authorization, x-stainless-os, content-type"}});
  EXPECT_EQ(pre.status, 204);
  EXPECT_EQ(pre.headers["access-control-allow-origin"], "*");
  EXPECT_NE(pre.headers["access-control-allow-headers"].find("x-stainless-os"), std::string::npos);
  auto get = http_request(s.port, "GET", "/v1/models", "", {{"Origin", "http://localhost:3000"}});
  EXPECT_EQ(get.headers["access-control-allow-origin"], "*");
}

TEST(Server, ClientDisconnectMidStreamCancelsGeneration) {
  LiveServer s;
  s.engine->script = [](const runtime::GenerationRequest&) {
    test::FakeScript f;
    f.tokens = std::vector<int32_t>(2000, 'z');
    f.delay = std::chrono::milliseconds(2);
    return f;
  };
  const std::string got = test::stream_then_disconnect(
      s.port, "/v1/chat/completions", R"({"messages":[{"role":"user","content":"hi"}],"stream":true})", 600);
  EXPECT_NE(got.find("text/event-stream"), std::string::npos);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while ((s.engine->cancelled == 0 || s.engine->active > 0) && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(s.engine->cancelled, 1);
  EXPECT_EQ(s.engine->active, 0);  // the slot is free long before the 4 s script would end
}

TEST(Server, ClientDisconnectWhileWaitingForNonStreamingCancels) {
  LiveServer s;
  s.engine->script = [](const runtime::GenerationRequest&) {
    test::FakeScript f;
    f.tokens = std::vector<int32_t>(2000, 'z');
    f.delay = std::chrono::milliseconds(2);
    return f;
  };
  test::raw_exchange(s.port,
                     "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(kChat.size()) +
                         "\r\n\r\n" + kChat,
                     200);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (s.engine->cancelled == 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(s.engine->cancelled, 1);
}

TEST(Server, SilentStreamGetsHeartbeatComments) {
  config::ServerConfig cfg;
  cfg.limits.sse_heartbeat_s = 0.05;
  LiveServer s(cfg);
  s.engine->script = [](const runtime::GenerationRequest&) {
    test::FakeScript f;
    f.tokens = test::byte_ids("ab");
    f.delay = std::chrono::milliseconds(200);  // a "long prefill" per token
    return f;
  };
  auto st = http_request(s.port, "POST", "/v1/chat/completions",
                         R"({"messages":[{"role":"user","content":"hi"}],"stream":true})");
  ASSERT_EQ(st.status, 200);
  EXPECT_NE(st.body.find(": ping\n\n"), std::string::npos);
  auto payloads = test::sse_payloads(st.body);  // comments are not data: the SDKs skip them
  ASSERT_FALSE(payloads.empty());
  EXPECT_EQ(payloads.back(), "[DONE]");
}

TEST(Server, KeepAliveServesSeveralRequestsOnOneConnection) {
  LiveServer s;
  const std::string one = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string got = test::raw_exchange(s.port, one + one + "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  size_t n = 0;
  for (size_t p = got.find("HTTP/1.1 200"); p != std::string::npos; p = got.find("HTTP/1.1 200", p + 1)) ++n;
  EXPECT_EQ(n, 3u);
}

TEST(Server, ShutdownLetsInFlightRequestFinish) {
  auto s = std::make_unique<LiveServer>();
  s->engine->script = [](const runtime::GenerationRequest&) {
    test::FakeScript f;
    f.tokens = test::byte_ids("slow answer");
    f.delay = std::chrono::milliseconds(30);
    return f;
  };
  test::HttpResult r;
  std::thread client([&] { r = http_request(s->port, "POST", "/v1/chat/completions", kChat); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  s.reset();  // shutdown: the fake engine's shutdown waits for the sequence to finish
  client.join();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["choices"][0]["message"]["content"], "slow answer");
}

}  // namespace
}  // namespace gs::server
