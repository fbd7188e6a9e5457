// JSON → ChatCompletionRequest with validation; every failure names its parameter.
#pragma once
#include <string>

#include "api/parse/options_parse.h"
#include "api/result.h"
#include "api/types/chat.h"

namespace gs::api {

Result<ChatCompletionRequest> parse_chat_request(const nlohmann::json& body, const ParseLimits& limits);

}  // namespace gs::api
