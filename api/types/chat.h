// /v1/chat/completions request as plain structs (no JSON inside).
#pragma once
#include <string>
#include <vector>

#include "api/types/common.h"

namespace gs::api {

struct ContentPart {
  enum class Kind { kText, kImage, kAudio } kind = Kind::kText;
  std::string text;      // kText
  std::string url;       // kImage: http(s) or data: URL
  std::string data;      // kAudio: base64 payload
  std::string format;    // kAudio: "wav" | "mp3" | ...
};

struct ChatMessage {
  std::string role;      // system | developer | user | assistant | tool
  std::vector<ContentPart> parts;
};

struct ChatCompletionRequest {
  std::vector<ChatMessage> messages;
  GenerationOptions options;
};

}  // namespace gs::api
