#include "api/parse/completion_parse.h"

namespace gs::api {
namespace {

// prompt: a string, a one-element array of strings, or an array of token ids. Batches of several
// prompts are refused (use n or several requests) rather than silently answering only the first.
std::optional<ApiError> parse_prompt(const nlohmann::json& body, CompletionRequest& out) {
  const auto p = body.find("prompt");
  if (p == body.end() || p->is_null())
    return bad_request("'prompt' is required", "prompt", "missing_required_parameter");
  if (p->is_string()) {
    out.prompt = p->get<std::string>();
    return std::nullopt;
  }
  if (!p->is_array() || p->empty())
    return bad_request("'prompt' must be a string or an array", "prompt", "invalid_type");
  if ((*p)[0].is_string()) {
    if (p->size() != 1) return bad_request("only one prompt per request is supported", "prompt", "invalid_value");
    out.prompt = (*p)[0].get<std::string>();
    return std::nullopt;
  }
  for (const auto& t : *p) {
    if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() > INT32_MAX)
      return bad_request("'prompt' token ids must be non-negative integers", "prompt", "invalid_type");
    out.prompt_ids.push_back(static_cast<int32_t>(t.get<int64_t>()));
  }
  out.has_ids = true;
  return std::nullopt;
}

}  // namespace

Result<CompletionRequest> parse_completion_request(const nlohmann::json& body, const ParseLimits& limits) {
  CompletionRequest req;
  if (auto e = parse_prompt(body, req)) return *e;
  FieldReader r(body);
  parse_generation_options(r, body, limits, req.options);
  if (auto lp = r.integer("logprobs", 0, 5)) {
    req.options.sampling.logprobs = true;
    req.options.sampling.top_logprobs = static_cast<int>(*lp);
  }
  if (auto e = r.boolean("echo")) req.echo = *e;
  if (auto s = r.string("suffix")) req.suffix = *s;
  if (!r.failed() && !req.options.max_tokens) req.options.max_tokens = 16;  // OpenAI's default here
  if (r.failed()) return r.error();
  return req;
}

}  // namespace gs::api
