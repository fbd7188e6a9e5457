#include <gtest/gtest.h>

#include <random>

#include "api/parse/chat_parse.h"
#include "api/parse/completion_parse.h"

namespace gs::api {
namespace {

using nlohmann::json;

Result<ChatCompletionRequest> chat(const std::string& s) { return parse_chat_request(json::parse(s), ParseLimits{}); }

TEST(ChatParse, StringAndPartsContentAndUnknownFieldsIgnored) {
  auto r = chat(R"({"model":"m","messages":[{"role":"system","content":"be brief"},
      {"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}],
      "tools":[{"type":"function"}],"response_format":{"type":"text"},"store":true,"metadata":{"x":1},
      "stream_options":{"include_usage":true,"include_obfuscation":false},"stream":true})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->messages.size(), 2u);
  EXPECT_EQ(r->messages[1].parts.size(), 2u);
  EXPECT_EQ(r->messages[1].parts[1].text, "b");
  EXPECT_TRUE(r->options.stream);
  EXPECT_TRUE(r->options.include_usage);
  EXPECT_EQ(r->options.model, "m");
}

TEST(ChatParse, SamplingFieldsAndExtensions) {
  auto r = chat(R"({"messages":[{"role":"user","content":"hi"}],"temperature":0.5,"top_p":0.9,"top_k":40,
      "min_p":0.05,"repetition_penalty":1.1,"presence_penalty":0.5,"frequency_penalty":-0.5,"seed":-7,
      "max_completion_tokens":12,"n":2,"stop":["a","b"],"logprobs":true,"top_logprobs":3,"user":"u"})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& s = r->options.sampling;
  EXPECT_FLOAT_EQ(s.temperature, 0.5f);
  EXPECT_FLOAT_EQ(s.top_p, 0.9f);
  EXPECT_EQ(s.top_k, 40);
  EXPECT_FLOAT_EQ(s.min_p, 0.05f);
  EXPECT_FLOAT_EQ(s.repetition_penalty, 1.1f);
  EXPECT_FLOAT_EQ(s.frequency_penalty, -0.5f);
  EXPECT_EQ(*s.seed, static_cast<uint64_t>(int64_t{-7}));
  EXPECT_EQ(*r->options.max_tokens, 12);
  EXPECT_EQ(r->options.n, 2);
  EXPECT_EQ(r->options.stop, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(s.logprobs);
  EXPECT_EQ(s.top_logprobs, 3);
  EXPECT_EQ(r->options.user, "u");
}

TEST(ChatParse, NullMeansAbsentAndStopString) {
  auto r = chat(R"({"messages":[{"role":"user","content":"hi"}],"temperature":null,"stop":"END","max_tokens":null})");
  ASSERT_TRUE(r.ok());
  EXPECT_FLOAT_EQ(r->options.sampling.temperature, 1.0f);
  EXPECT_EQ(r->options.stop, std::vector<std::string>{"END"});
  EXPECT_FALSE(r->options.max_tokens);
}

struct BadCase {
  const char* body;
  const char* param;
};

TEST(ChatParse, WrongTypesAndRangesNameTheParam) {
  const BadCase cases[] = {
      {R"({})", "messages"},
      {R"({"messages":"hi"})", "messages"},
      {R"({"messages":[]})", "messages"},
      {R"({"messages":[{"role":"robot","content":"x"}]})", "messages[0].role"},
      {R"({"messages":[{"content":"x"}]})", "messages[0].role"},
      {R"({"messages":[{"role":"user","content":5}]})", "messages[0].content"},
      {R"({"messages":[{"role":"user","content":[{"type":"video"}]}]})", "messages[0].content[0].type"},
      {R"({"messages":[{"role":"user","content":[{"type":"text","text":1}]}]})", "messages[0].content[0].text"},
      {R"({"messages":[{"role":"user","content":"x"}],"temperature":"hot"})", "temperature"},
      {R"({"messages":[{"role":"user","content":"x"}],"temperature":2.5})", "temperature"},
      {R"({"messages":[{"role":"user","content":"x"}],"top_p":1.5})", "top_p"},
      {R"({"messages":[{"role":"user","content":"x"}],"n":0})", "n"},
      {R"({"messages":[{"role":"user","content":"x"}],"n":1.5})", "n"},
      {R"({"messages":[{"role":"user","content":"x"}],"max_tokens":0})", "max_tokens"},
      {R"({"messages":[{"role":"user","content":"x"}],"max_tokens":"10"})", "max_tokens"},
      {R"({"messages":[{"role":"user","content":"x"}],"stream":"yes"})", "stream"},
      {R"({"messages":[{"role":"user","content":"x"}],"stop":[1]})", "stop"},
      {R"({"messages":[{"role":"user","content":"x"}],"stop":["a","b","c","d","e"]})", "stop"},
      {R"({"messages":[{"role":"user","content":"x"}],"presence_penalty":3})", "presence_penalty"},
      {R"({"messages":[{"role":"user","content":"x"}],"top_logprobs":2})", "top_logprobs"},
      {R"({"messages":[{"role":"user","content":"x"}],"logprobs":true,"top_logprobs":21})", "top_logprobs"},
      {R"({"messages":[{"role":"user","content":"x"}],"seed":"1"})", "seed"},
      {R"({"messages":[{"role":"user","content":"x"}],"top_k":-1})", "top_k"},
      {R"({"messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":1}})", "stream_options"},
  };
  for (const BadCase& c : cases) {
    auto r = chat(c.body);
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.error().status, 400) << c.body;
    ASSERT_TRUE(r.error().param.has_value()) << c.body;
    EXPECT_EQ(*r.error().param, c.param) << c.body;
    EXPECT_FALSE(r.error().message.empty());
  }
}

TEST(ChatParse, MediaPartsParse) {
  auto r = chat(R"({"messages":[{"role":"user","content":[
      {"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA","detail":"low"}},
      {"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}}]}]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->messages[0].parts[0].kind, ContentPart::Kind::kImage);
  EXPECT_EQ(r->messages[0].parts[0].url, "data:image/png;base64,AAAA");
  EXPECT_EQ(r->messages[0].parts[1].kind, ContentPart::Kind::kAudio);
  EXPECT_EQ(r->messages[0].parts[1].format, "wav");
}

TEST(CompletionParse, PromptForms) {
  auto a = parse_completion_request(json::parse(R"({"prompt":"hi","logprobs":2})"), ParseLimits{});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->prompt, "hi");
  EXPECT_EQ(a->options.sampling.top_logprobs, 2);
  EXPECT_EQ(*a->options.max_tokens, 16);
  auto b = parse_completion_request(json::parse(R"({"prompt":["x"]})"), ParseLimits{});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->prompt, "x");
  auto c = parse_completion_request(json::parse(R"({"prompt":[1,2,3]})"), ParseLimits{});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->prompt_ids, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_FALSE(parse_completion_request(json::parse(R"({"prompt":["a","b"]})"), ParseLimits{}).ok());
  EXPECT_FALSE(parse_completion_request(json::parse(R"({})"), ParseLimits{}).ok());
  EXPECT_FALSE(parse_completion_request(json::parse(R"({"prompt":[-1]})"), ParseLimits{}).ok());
  EXPECT_FALSE(parse_completion_request(json::parse(R"({"prompt":"x","logprobs":6})"), ParseLimits{}).ok());
}

TEST(ParseJsonObject, RejectsNonObjects) {
  json j;
  EXPECT_TRUE(parse_json_object("{", j).has_value());
  EXPECT_TRUE(parse_json_object("[1]", j).has_value());
  EXPECT_TRUE(parse_json_object("", j).has_value());
  EXPECT_TRUE(parse_json_object("{\"a\":\"\xff\"}", j).has_value());  // invalid UTF-8
  EXPECT_FALSE(parse_json_object("{\"a\":1}", j).has_value());
}

// Random byte mutations of a valid body: every outcome is a value (ok or ApiError), never a crash.
TEST(ChatParse, MutatedBodiesNeverCrash) {
  const std::string base = R"({"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"},)"
                           R"({"type":"image_url","image_url":{"url":"x"}}]}],"temperature":0.7,"stop":["a"],"n":1})";
  std::mt19937 rng(1234);
  int ok = 0, errors = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string s = base;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t pos = rng() % s.size();
      switch (rng() % 3) {
        case 0: s[pos] = static_cast<char>(rng() % 256); break;
        case 1: s.erase(pos, 1); break;
        default: s.insert(pos, 1, "{}[]\",:0-e"[rng() % 10]); break;
      }
    }
    json j;
    if (parse_json_object(s, j)) {
      ++errors;
      continue;
    }
    auto r = parse_chat_request(j, ParseLimits{});
    if (r.ok()) ++ok; else ++errors;
    if (!r.ok()) {
      EXPECT_FALSE(r.error().message.empty());
    }
  }
  EXPECT_GT(errors, 0);
  EXPECT_EQ(ok + errors, 3000);
}

}  // namespace
}  // namespace gs::api
