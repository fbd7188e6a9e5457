// chat.completion and chat.completion.chunk objects.
#include "api/serialize/wire_json.h"

namespace gs::api::detail {
namespace {

nlohmann::json chat_logprobs(const std::vector<LogprobEntry>& entries) {
  nlohmann::json content = nlohmann::json::array();
  for (const LogprobEntry& e : entries) {
    nlohmann::json top = nlohmann::json::array();
    for (const LogprobAlt& a : e.top)
      top.push_back({{"token", printable(a.token)}, {"logprob", a.logprob}, {"bytes", bytes_array(a.token)}});
    content.push_back({{"token", printable(e.token)},
                       {"logprob", e.logprob},
                       {"bytes", bytes_array(e.token)},
                       {"top_logprobs", std::move(top)}});
  }
  return {{"content", std::move(content)}, {"refusal", nullptr}};
}

}  // namespace

nlohmann::json chat_final(const WireHeader& h, const std::vector<ChoiceResult>& choices, const UsageInfo& u) {
  nlohmann::json arr = nlohmann::json::array();
  for (const ChoiceResult& c : choices) {
    arr.push_back({{"index", c.index},
                   {"message", {{"role", "assistant"}, {"content", c.text}, {"refusal", nullptr}}},
                   {"logprobs", c.with_logprobs ? chat_logprobs(c.logprobs) : nlohmann::json(nullptr)},
                   {"finish_reason", c.finish_reason}});
  }
  return {{"id", h.id},         {"object", "chat.completion"}, {"created", h.created},
          {"model", h.model},   {"system_fingerprint", nullptr}, {"choices", std::move(arr)},
          {"usage", usage_json(u)}};
}

nlohmann::json chat_chunk(const WireHeader& h, const ChunkDelta& d) {
  nlohmann::json delta = nlohmann::json::object();
  if (d.first) delta["role"] = "assistant";
  if (d.first || !d.text.empty()) delta["content"] = d.text;
  nlohmann::json choice = {{"index", d.index},
                           {"delta", std::move(delta)},
                           {"logprobs", d.logprobs ? chat_logprobs(*d.logprobs) : nlohmann::json(nullptr)},
                           {"finish_reason", d.finish_reason ? nlohmann::json(*d.finish_reason) : nlohmann::json(nullptr)}};
  return {{"id", h.id},       {"object", "chat.completion.chunk"}, {"created", h.created},
          {"model", h.model}, {"system_fingerprint", nullptr},       {"choices", nlohmann::json::array({choice})}};
}

}  // namespace gs::api::detail
