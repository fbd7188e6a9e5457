#include "api/parse/options_parse.h"

namespace gs::api {
namespace {

void parse_stop(FieldReader& r, std::vector<std::string>& out) {
  const nlohmann::json* v = r.failed() ? nullptr : r.raw("stop");
  if (!v) return;
  if (v->is_string()) {
    if (!v->get<std::string>().empty()) out.push_back(v->get<std::string>());
    return;
  }
  if (!v->is_array()) return r.fail("stop", "'stop' must be a string or an array of strings");
  if (v->size() > 4) return r.fail("stop", "'stop' may hold at most 4 sequences");
  for (const auto& s : *v) {
    if (!s.is_string()) return r.fail("stop", "'stop' must be a string or an array of strings");
    if (!s.get<std::string>().empty()) out.push_back(s.get<std::string>());
  }
}

void parse_stream_options(FieldReader& r, GenerationOptions& out) {
  const nlohmann::json* so = r.failed() ? nullptr : r.raw("stream_options");
  if (!so) return;
  if (!so->is_object()) return r.fail("stream_options", "'stream_options' must be an object");
  FieldReader sr(*so, "stream_options.");
  if (auto u = sr.boolean("include_usage")) out.include_usage = *u;
  if (sr.failed()) r.fail("stream_options", sr.error().message);
}

// Extension: "latency_budget": {"ttft_ms": N, "total_ms": N} picks the MatFormer size.
void parse_latency_budget(FieldReader& r, GenerationOptions& out) {
  const nlohmann::json* lb = r.failed() ? nullptr : r.raw("latency_budget");
  if (!lb) return;
  if (!lb->is_object()) return r.fail("latency_budget", "'latency_budget' must be an object");
  FieldReader br(*lb, "latency_budget.");
  if (auto t = br.number("ttft_ms", 1e-3, 1e9)) out.budget.ttft_s = *t / 1000.0;
  if (auto t = br.number("total_ms", 1e-3, 1e9)) out.budget.total_s = *t / 1000.0;
  if (br.failed()) r.fail("latency_budget", br.error().message);
}

}  // namespace

void parse_generation_options(FieldReader& r, const nlohmann::json& body, const ParseLimits& limits,
                              GenerationOptions& out) {
  if (auto m = r.string("model")) out.model = *m;
  if (auto s = r.boolean("stream")) out.stream = *s;
  parse_stream_options(r, out);
  if (auto m = r.integer("max_tokens", 1, limits.max_tokens_cap)) out.max_tokens = static_cast<int>(*m);
  if (auto m = r.integer("max_completion_tokens", 1, limits.max_tokens_cap)) out.max_tokens = static_cast<int>(*m);
  if (auto n = r.integer("n", 1, limits.max_n)) out.n = static_cast<int>(*n);
  parse_stop(r, out.stop);
  runtime::SamplingParams& s = out.sampling;
  if (auto t = r.number("temperature", 0.0, 2.0)) s.temperature = static_cast<float>(*t);
  if (auto p = r.number("top_p", 0.0, 1.0)) s.top_p = static_cast<float>(*p);
  if (auto k = r.integer("top_k", 0, 1 << 20)) s.top_k = static_cast<int>(*k);
  if (auto m = r.number("min_p", 0.0, 1.0)) s.min_p = static_cast<float>(*m);
  if (auto p = r.number("presence_penalty", -2.0, 2.0)) s.presence_penalty = static_cast<float>(*p);
  if (auto f = r.number("frequency_penalty", -2.0, 2.0)) s.frequency_penalty = static_cast<float>(*f);
  if (auto rp = r.number("repetition_penalty", 0.01, 10.0)) s.repetition_penalty = static_cast<float>(*rp);
  if (auto seed = r.integer("seed", INT64_MIN, INT64_MAX)) s.seed = static_cast<uint64_t>(*seed);
  if (auto u = r.string("user")) out.user = *u;
  parse_latency_budget(r, out);
  if (const nlohmann::json* lb = r.failed() ? nullptr : r.raw("logit_bias"); lb && !lb->is_object())
    r.fail("logit_bias", "'logit_bias' must be an object");
  (void)body;
}

}  // namespace gs::api
