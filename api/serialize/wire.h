// OpenAI wire objects for generation results: final bodies, stream chunks and the usage chunk,
// for both chat.completion and text_completion. The only place these JSON shapes are written.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace gs::api {

enum class WireKind { kChat, kCompletion };

struct WireHeader {
  WireKind kind = WireKind::kChat;
  std::string id;                 // chatcmpl-… / cmpl-…
  int64_t created = 0;
  std::string model;
};

struct LogprobAlt {
  std::string token;              // raw token bytes (may be partial UTF-8)
  float logprob = 0;
};

struct LogprobEntry {
  std::string token;
  float logprob = 0;
  std::vector<LogprobAlt> top;
};

struct UsageInfo {
  int prompt_tokens = 0;
  int completion_tokens = 0;
  int image_tokens = 0;   // prompt placeholders filled by images
  int audio_tokens = 0;   // ... and by audio
};

struct ChoiceResult {
  int index = 0;
  std::string text;
  bool with_logprobs = false;
  std::vector<LogprobEntry> logprobs;
  std::string finish_reason;      // stop | length
};

struct ChunkDelta {
  int index = 0;
  bool first = false;             // chat: carries role "assistant"
  std::string text;
  const std::vector<LogprobEntry>* logprobs = nullptr;  // null: "logprobs": null
  std::optional<std::string> finish_reason;
};

// Bodies are compact JSON strings; invalid UTF-8 in model output is replaced, never thrown on.
std::string final_body(const WireHeader& h, const std::vector<ChoiceResult>& choices, const UsageInfo& u);
std::string chunk_body(const WireHeader& h, const ChunkDelta& d, bool usage_field);
std::string usage_chunk_body(const WireHeader& h, const UsageInfo& u);
// "data: <json>\n\n"
std::string sse_frame(const std::string& json);

}  // namespace gs::api
