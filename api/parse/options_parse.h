// Parsing of the generation fields chat and text completions share (sampling, stop, n, stream).
#pragma once
#include <nlohmann/json.hpp>

#include "api/parse/field_reader.h"
#include "api/types/common.h"

namespace gs::api {

struct ParseLimits {
  int max_n = 8;
  int max_tokens_cap = 32768;
};

// Reads everything but `logprobs`/`top_logprobs` (their shape differs between the endpoints).
void parse_generation_options(FieldReader& r, const nlohmann::json& body, const ParseLimits& limits,
                              GenerationOptions& out);

}  // namespace gs::api
