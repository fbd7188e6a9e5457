// text_completion objects (final and streamed; OpenAI uses the same object name for both).
#include "api/serialize/wire_json.h"

namespace gs::api::detail {
namespace {

nlohmann::json completion_logprobs(const std::vector<LogprobEntry>& entries, size_t text_offset) {
  nlohmann::json tokens = nlohmann::json::array(), lps = nlohmann::json::array(), tops = nlohmann::json::array(),
                 offsets = nlohmann::json::array();
  for (const LogprobEntry& e : entries) {
    tokens.push_back(printable(e.token));
    lps.push_back(e.logprob);
    nlohmann::json top = nlohmann::json::object();
    for (const LogprobAlt& a : e.top) top[printable(a.token)] = a.logprob;
    tops.push_back(std::move(top));
    offsets.push_back(text_offset);
    text_offset += e.token.size();
  }
  return {{"tokens", tokens}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

}  // namespace

nlohmann::json completion_final(const WireHeader& h, const std::vector<ChoiceResult>& choices, const UsageInfo& u) {
  nlohmann::json arr = nlohmann::json::array();
  for (const ChoiceResult& c : choices) {
    arr.push_back({{"index", c.index},
                   {"text", c.text},
                   {"logprobs", c.with_logprobs ? completion_logprobs(c.logprobs, 0) : nlohmann::json(nullptr)},
                   {"finish_reason", c.finish_reason}});
  }
  return {{"id", h.id},       {"object", "text_completion"}, {"created", h.created},
          {"model", h.model}, {"choices", std::move(arr)},    {"usage", usage_json(u)}};
}

nlohmann::json completion_chunk(const WireHeader& h, const ChunkDelta& d) {
  nlohmann::json choice = {{"index", d.index},
                           {"text", d.text},
                           {"logprobs", d.logprobs ? completion_logprobs(*d.logprobs, 0) : nlohmann::json(nullptr)},
                           {"finish_reason", d.finish_reason ? nlohmann::json(*d.finish_reason) : nlohmann::json(nullptr)}};
  return {{"id", h.id},       {"object", "text_completion"}, {"created", h.created},
          {"model", h.model}, {"choices", nlohmann::json::array({choice})}};
}

}  // namespace gs::api::detail
