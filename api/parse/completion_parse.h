// JSON → CompletionRequest (/v1/completions) with validation.
#pragma once
#include "api/parse/options_parse.h"
#include "api/result.h"
#include "api/types/completion.h"

namespace gs::api {

Result<CompletionRequest> parse_completion_request(const nlohmann::json& body, const ParseLimits& limits);

}  // namespace gs::api
