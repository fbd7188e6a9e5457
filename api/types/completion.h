// /v1/completions request as plain structs.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "api/types/common.h"

namespace gs::api {

struct CompletionRequest {
  std::string prompt;                 // text prompt (a one-element array is accepted too)
  std::vector<int32_t> prompt_ids;    // when the prompt is given as token ids
  bool has_ids = false;
  std::string suffix;                 // ignored by Gemma; kept so it is not an error
  bool echo = false;
  GenerationOptions options;
};

}  // namespace gs::api
