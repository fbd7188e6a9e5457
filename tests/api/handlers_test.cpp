// The generation endpoints end to end inside api/: parse → codec → (fake) engine → collector →
// wire JSON / SSE frames. No sockets.
#include <gtest/gtest.h>

#include <future>

#include "api/handlers/handlers.h"
#include "tests/api/fake_backend.h"

namespace gs::api {
namespace {

using nlohmann::json;

struct Fixture {
  std::shared_ptr<test::FakeEngine> engine = std::make_shared<test::FakeEngine>();
  Services services{[] {
    ApiSettings s;
    s.model_name = "gemma-test";
    return s;
  }()};
  Fixture() { services.set_backend({engine, std::make_shared<test::FakeCodec>()}); }
  // The engine's threads report into `services` (metrics): join them before it goes.
  ~Fixture() { engine->shutdown(0); }

  Response call(Response (*h)(const Request&, Services&), const std::string& body) {
    Request r;
    r.method = "POST";
    r.body = body;
    r.id = "t";
    return h(r, services);
  }
};

// As the server does: the final answer keeps the headers set when the request started, and an
// answer that is itself pending (media prepared off the I/O thread, then generation) is awaited too.
Response wait_pending(Response r) {
  while (r.pending) {
    std::promise<Response> p;
    r.pending->on_complete([&](Response x) { p.set_value(std::move(x)); });
    Response out = p.get_future().get();
    out.headers.insert(out.headers.begin(), r.headers.begin(), r.headers.end());
    r = std::move(out);
  }
  return r;
}

// Drains an SSE channel until closed; returns the data payloads.
std::vector<std::string> drain_stream(const Response& r) {
  std::vector<std::string> out;
  std::deque<std::string> frames;
  for (int i = 0; i < 5000; ++i) {
    const bool closed = r.stream->drain(frames);
    for (auto& f : frames) {
      EXPECT_EQ(f.rfind("data: ", 0), 0u) << f;
      EXPECT_EQ(f.substr(f.size() - 2), "\n\n");
      out.push_back(f.substr(6, f.size() - 8));
    }
    frames.clear();
    if (closed) return out;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ADD_FAILURE() << "stream never closed";
  return out;
}

const char* kHi = R"("messages":[{"role":"user","content":"hi"}])";

TEST(ChatHandler, NonStreamingAnswer) {
  Fixture f;
  Response r = wait_pending(f.call(handle_chat_completions, std::string("{") + kHi + R"(,"model":"gemma-test"})"));
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["model"], "gemma-test");
  EXPECT_EQ(j["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "Hello world");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  EXPECT_TRUE(j["choices"][0]["logprobs"].is_null());
  EXPECT_EQ(j["usage"]["completion_tokens"], 12);  // 11 bytes + <end_of_turn>
  EXPECT_EQ(j["usage"]["prompt_tokens"], static_cast<int>(f.engine->seen[0].prompt.size()));
  EXPECT_EQ(j["usage"]["total_tokens"], j["usage"]["prompt_tokens"].get<int>() + 12);
  // The stop tokens of the codec travel to the engine.
  EXPECT_EQ(f.engine->seen[0].stop_tokens, (std::vector<int32_t>{test::kFakeEot, test::kFakeEos}));
}

TEST(ChatHandler, LengthFinishAndSamplingPassThrough) {
  Fixture f;
  Response r = wait_pending(f.call(handle_chat_completions, std::string("{") + kHi +
                                   R"(,"max_tokens":3,"temperature":0,"top_k":5,"seed":9})"));
  json j = json::parse(r.body);
  EXPECT_EQ(j["choices"][0]["message"]["content"], "Hel");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(f.engine->seen[0].max_tokens, 3);
  EXPECT_EQ(f.engine->seen[0].sampling.temperature, 0.f);
  EXPECT_EQ(f.engine->seen[0].sampling.top_k, 5);
  EXPECT_EQ(*f.engine->seen[0].sampling.seed, 9u);
}

TEST(ChatHandler, StopStringAcrossTokensCancelsAndNeverLeaks) {
  Fixture f;
  Response r = wait_pending(f.call(handle_chat_completions, std::string("{") + kHi + R"(,"stop":["o w"]})"));
  json j = json::parse(r.body);
  EXPECT_EQ(j["choices"][0]["message"]["content"], "Hell");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
}

TEST(ChatHandler, StreamingChunksUsageAndDone) {
  Fixture f;
  f.engine->script = [](const runtime::GenerationRequest&) {
    test::FakeScript s;
    s.tokens = test::byte_ids("caf\xC3\xA9 STOP!");  // é split over two tokens
    s.end = runtime::FinishInfo::Reason::kLength;
    return s;
  };
  Response r = f.call(handle_chat_completions, std::string("{") + kHi +
                      R"(,"stream":true,"stream_options":{"include_usage":true},"stop":"STOP"})");
  ASSERT_TRUE(r.stream);
  auto payloads = drain_stream(r);
  ASSERT_GE(payloads.size(), 4u);
  EXPECT_EQ(payloads.back(), "[DONE]");
  json first = json::parse(payloads[0]);
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  EXPECT_TRUE(first.contains("usage") && first["usage"].is_null());
  std::string content, finish;
  std::string id = first["id"];
  for (size_t i = 0; i + 2 < payloads.size(); ++i) {
    json c = json::parse(payloads[i]);
    EXPECT_EQ(c["id"], id);
    auto& ch = c["choices"][0];
    if (ch["delta"].contains("content")) {
      const std::string piece = ch["delta"]["content"];
      // Every fragment is valid UTF-8 on its own (the é is never split).
      EXPECT_NO_THROW(json(piece).dump());
      content += piece;
    }
    if (!ch["finish_reason"].is_null()) finish = ch["finish_reason"];
  }
  EXPECT_EQ(content, "caf\xC3\xA9 ");
  EXPECT_EQ(finish, "stop");
  json usage = json::parse(payloads[payloads.size() - 2]);
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_GT(usage["usage"]["prompt_tokens"].get<int>(), 0);
  EXPECT_EQ(usage["usage"]["completion_tokens"], 10);  // "caf", 2 bytes of é, " STOP" (stop matched at P)
}

TEST(ChatHandler, NChoicesWithLogprobs) {
  Fixture f;
  Response r = wait_pending(f.call(handle_chat_completions, std::string("{") + kHi +
                                   R"(,"n":2,"logprobs":true,"top_logprobs":2,"seed":5})"));
  json j = json::parse(r.body);
  ASSERT_EQ(j["choices"].size(), 2u);
  EXPECT_EQ(j["choices"][1]["index"], 1);
  auto& lp = j["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(lp.size(), 11u);  // the <end_of_turn> token is not part of the answer
  EXPECT_EQ(lp[0]["token"], "H");
  EXPECT_FLOAT_EQ(lp[0]["logprob"].get<float>(), -0.5f);
  EXPECT_EQ(lp[0]["bytes"], json::array({72}));
  EXPECT_EQ(lp[0]["top_logprobs"].size(), 2u);
  EXPECT_EQ(j["usage"]["completion_tokens"], 24);
  // Distinct seeds per choice keep n > 1 from returning n copies.
  EXPECT_NE(*f.engine->seen[0].sampling.seed, *f.engine->seen[1].sampling.seed);
}

TEST(ChatHandler, ErrorsMapToOpenAIStatuses) {
  Fixture f;
  Response bad = f.call(handle_chat_completions, "{not json");
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(json::parse(bad.body)["error"].contains("message"));
  bool no_retry = false;
  for (auto& [k, v] : bad.headers) no_retry |= (k == "x-should-retry" && v == "false");
  EXPECT_TRUE(no_retry);

  Response unknown = f.call(handle_chat_completions, std::string("{") + kHi + R"(,"model":"gpt-4"})");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(json::parse(unknown.body)["error"]["code"], "model_not_found");

  // Requests with media are prepared on the media workers: the answer comes through a pending.
  Response image = wait_pending(f.call(handle_chat_completions,
                          R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:,"}}]}]})"));
  EXPECT_EQ(image.status, 400);
  EXPECT_NE(json::parse(image.body)["error"]["message"].get<std::string>().find("image input is not available"),
            std::string::npos);

  f.engine->queue_full = true;
  Response busy = f.call(handle_chat_completions, std::string("{") + kHi + "}");
  EXPECT_EQ(busy.status, 429);
  bool retry_after = false;
  for (auto& [k, v] : busy.headers) retry_after |= (k == "Retry-After");
  EXPECT_TRUE(retry_after);

  f.engine->queue_full = false;
  f.engine->is_ready = false;
  EXPECT_EQ(f.call(handle_chat_completions, std::string("{") + kHi + "}").status, 503);
  EXPECT_EQ(handle_health(Request{}, f.services).status, 503);
}

TEST(ChatHandler, ImageDataUrlGoesThroughTheEngineMediaHook) {
  Fixture f;
  f.engine->image_tokens = 4;
  const std::string body = R"({"messages":[{"role":"user","content":[{"type":"text","text":"what?"},)"
                           R"({"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]})";
  Response r = wait_pending(f.call(handle_chat_completions, body));
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(f.engine->seen[0].media.size(), 1u);
  EXPECT_EQ(f.engine->seen[0].media[0].data.size(), 8u);  // the decoded PNG signature bytes
  EXPECT_EQ(json::parse(r.body)["choices"][0]["message"]["content"], "Hello world");
  for (const char* bad : {R"("https://example.com/cat.png")", R"("data:image/png;base64,@@")", R"("data:image/png;base64,AAA=")"}) {
    Response e = wait_pending(f.call(handle_chat_completions,
                                     std::string(R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":)") +
                                         bad + "}}]}]}"));
    EXPECT_EQ(e.status, 400) << bad;
  }
}

TEST(ChatHandler, LatencyBudgetHeadersReachTheEngine) {
  Fixture f;
  Request r;
  r.body = std::string("{") + kHi + "}";
  r.headers["x-latency-budget-ttft-ms"] = "250";
  r.headers["x-latency-budget-total-ms"] = "4000";
  wait_pending(handle_chat_completions(r, f.services));
  ASSERT_EQ(f.engine->seen.size(), 1u);
  EXPECT_DOUBLE_EQ(*f.engine->seen[0].budget.ttft_s, 0.25);
  EXPECT_DOUBLE_EQ(*f.engine->seen[0].budget.total_s, 4.0);
  r.headers["x-latency-budget-ttft-ms"] = "soon";
  EXPECT_EQ(handle_chat_completions(r, f.services).status, 400);
}

TEST(ChatHandler, LatencyBudgetChoosesTheSizeAndTheResponseNamesIt) {
  Fixture f;
  auto header = [](const Response& r, const std::string& name) {
    for (const auto& [k, v] : r.headers)
      if (k == name) return v;
    return std::string();
  };
  // Body field: a tight budget gets the small size, reported in `model` and a header.
  Response tight = wait_pending(
      f.call(handle_chat_completions, std::string("{") + kHi + R"(,"latency_budget":{"total_ms":500}})"));
  ASSERT_EQ(tight.status, 200) << tight.body;
  EXPECT_EQ(f.engine->seen.back().model, "fake-model:small");
  EXPECT_NE(tight.body.find("\"model\":\"fake-model:small\""), std::string::npos) << tight.body;
  EXPECT_EQ(header(tight, "x-gemma3n-size"), "fake-model:small");
  EXPECT_EQ(header(tight, "x-gemma3n-budget-met"), "true");
  // A loose budget keeps the full model; an impossible one says it was not met.
  Response loose = wait_pending(
      f.call(handle_chat_completions, std::string("{") + kHi + R"(,"latency_budget":{"ttft_ms":5000}})"));
  EXPECT_EQ(header(loose, "x-gemma3n-size"), "gemma-test");  // the full model, under its public name
  Response none = wait_pending(
      f.call(handle_chat_completions, std::string("{") + kHi + R"(,"latency_budget":{"total_ms":0.5}})"));
  EXPECT_EQ(header(none, "x-gemma3n-budget-met"), "false");
  EXPECT_EQ(f.call(handle_chat_completions, std::string("{") + kHi + R"(,"latency_budget":{"total_ms":"x"}})").status,
            400);
}

TEST(ChatHandler, SliceModelIdIsPassedToEngine) {
  Fixture f;
  wait_pending(f.call(handle_chat_completions, std::string("{") + kHi + R"(,"model":"fake-model:small"})"));
  EXPECT_EQ(f.engine->seen[0].model, "fake-model:small");
}

TEST(ChatHandler, CancelFromServerStopsTheSequence) {
  Fixture f;
  f.engine->script = [](const runtime::GenerationRequest&) {
    test::FakeScript s;
    s.tokens = std::vector<int32_t>(200, 'a');
    s.delay = std::chrono::milliseconds(2);
    return s;
  };
  Response r = f.call(handle_chat_completions, std::string("{") + kHi + R"(,"stream":true})");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  r.stream->cancel();
  f.engine->shutdown(0);
  EXPECT_EQ(f.engine->cancelled, 1);
  EXPECT_EQ(f.engine->active, 0);
}

TEST(CompletionsHandler, TextCompletion) {
  Fixture f;
  Response r = wait_pending(f.call(handle_completions, R"({"prompt":"Say","max_tokens":5,"logprobs":1})"));
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["object"], "text_completion");
  EXPECT_EQ(j["choices"][0]["text"], "Hello");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(j["choices"][0]["logprobs"]["tokens"].size(), 5u);
  EXPECT_EQ(f.engine->seen[0].prompt.front(), test::kFakeBos);
}

TEST(ModelsHandler, ListAndGet) {
  Fixture f;
  json list = json::parse(handle_list_models(Request{}, f.services).body);
  EXPECT_EQ(list["object"], "list");
  ASSERT_EQ(list["data"].size(), 3u);
  EXPECT_EQ(list["data"][0]["id"], "gemma-test");
  EXPECT_EQ(list["data"][0]["object"], "model");
  Request get;
  get.path_params = {"fake-model:small"};
  EXPECT_EQ(handle_get_model(get, f.services).status, 200);
  get.path_params = {"nope"};
  EXPECT_EQ(handle_get_model(get, f.services).status, 404);
}

TEST(MetricsHandler, PrometheusText) {
  Fixture f;
  wait_pending(f.call(handle_chat_completions, std::string("{") + kHi + "}"));
  f.services.metrics().count_request("/v1/chat/completions", 200);
  Response m = handle_metrics(Request{}, f.services);
  EXPECT_EQ(m.content_type.rfind("text/plain", 0), 0u);
  for (const char* needle : {"gemma3n_http_requests_total{route=\"/v1/chat/completions\",status=\"200\"} 1",
                             "gemma3n_queue_depth", "gemma3n_time_to_first_token_seconds_bucket",
                             "gemma3n_time_per_output_token_seconds_count 1", "gemma3n_completion_tokens_total 12",
                             "gemma3n_weights_resident_bytes{group=\"text_core\"} 4000",
                             "gemma3n_decode_tokens_per_second"})
    EXPECT_NE(m.body.find(needle), std::string::npos) << needle;
}

}  // namespace
}  // namespace gs::api
