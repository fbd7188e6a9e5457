#include "api/serialize/wire.h"

#include "api/serialize/wire_json.h"

namespace gs::api {
namespace detail {

std::string printable(const std::string& raw) {
  // Round-trip through the JSON dumper's replacement handling to get valid UTF-8.
  std::string quoted = nlohmann::json(raw).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return nlohmann::json::parse(quoted).get<std::string>();
}

nlohmann::json bytes_array(const std::string& raw) {
  nlohmann::json a = nlohmann::json::array();
  for (unsigned char c : raw) a.push_back(static_cast<int>(c));
  return a;
}

nlohmann::json usage_json(const UsageInfo& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", 0}, {"audio_tokens", u.audio_tokens}, {"image_tokens", u.image_tokens}}},
          {"completion_tokens_details", {{"reasoning_tokens", 0}}}};
}

}  // namespace detail

std::string final_body(const WireHeader& h, const std::vector<ChoiceResult>& choices, const UsageInfo& u) {
  return detail::dump(h.kind == WireKind::kChat ? detail::chat_final(h, choices, u)
                                                : detail::completion_final(h, choices, u));
}

std::string chunk_body(const WireHeader& h, const ChunkDelta& d, bool usage_field) {
  nlohmann::json j = h.kind == WireKind::kChat ? detail::chat_chunk(h, d) : detail::completion_chunk(h, d);
  if (usage_field) j["usage"] = nullptr;
  return detail::dump(j);
}

std::string usage_chunk_body(const WireHeader& h, const UsageInfo& u) {
  nlohmann::json j = {{"id", h.id},
                      {"object", h.kind == WireKind::kChat ? "chat.completion.chunk" : "text_completion"},
                      {"created", h.created},
                      {"model", h.model},
                      {"choices", nlohmann::json::array()},
                      {"usage", detail::usage_json(u)}};
  if (h.kind == WireKind::kChat) j["system_fingerprint"] = nullptr;
  return detail::dump(j);
}

std::string sse_frame(const std::string& json) { return "data: " + json + "\n\n"; }

}  // namespace gs::api
