#include "api/parse/chat_parse.h"

namespace gs::api {
namespace {

bool known_role(const std::string& r) {
  return r == "system" || r == "developer" || r == "user" || r == "assistant" || r == "tool";
}

// One element of a content array. Unknown part types are a 400: silently dropping user content
// would answer a different question than the one asked.
std::optional<ApiError> parse_part(const nlohmann::json& p, const std::string& where, ContentPart& out) {
  if (!p.is_object() || !p.contains("type") || !p["type"].is_string())
    return bad_request("'" + where + "' must be an object with a string 'type'", where, "invalid_type");
  const std::string type = p["type"].get<std::string>();
  if (type == "text") {
    if (!p.contains("text") || !p["text"].is_string())
      return bad_request("'" + where + ".text' must be a string", where + ".text", "invalid_type");
    out.kind = ContentPart::Kind::kText;
    out.text = p["text"].get<std::string>();
    return std::nullopt;
  }
  if (type == "image_url") {
    const auto it = p.find("image_url");
    const nlohmann::json* url = nullptr;
    if (it != p.end() && it->is_object() && it->contains("url")) url = &(*it)["url"];
    else if (it != p.end() && it->is_string()) url = &*it;
    if (!url || !url->is_string())
      return bad_request("'" + where + ".image_url.url' must be a string", where + ".image_url.url", "invalid_type");
    out.kind = ContentPart::Kind::kImage;
    out.url = url->get<std::string>();
    return std::nullopt;
  }
  if (type == "input_audio") {
    const auto it = p.find("input_audio");
    if (it == p.end() || !it->is_object() || !it->contains("data") || !(*it)["data"].is_string())
      return bad_request("'" + where + ".input_audio.data' must be a base64 string", where + ".input_audio.data",
                         "invalid_type");
    out.kind = ContentPart::Kind::kAudio;
    out.data = (*it)["data"].get<std::string>();
    if (it->contains("format") && (*it)["format"].is_string()) out.format = (*it)["format"].get<std::string>();
    return std::nullopt;
  }
  return bad_request("unsupported content part type '" + type + "'", where + ".type", "invalid_value");
}

std::optional<ApiError> parse_message(const nlohmann::json& m, size_t i, ChatMessage& out) {
  const std::string where = "messages[" + std::to_string(i) + "]";
  if (!m.is_object()) return bad_request("'" + where + "' must be an object", where, "invalid_type");
  if (!m.contains("role") || !m["role"].is_string())
    return bad_request("'" + where + ".role' must be a string", where + ".role", "invalid_type");
  out.role = m["role"].get<std::string>();
  if (!known_role(out.role))
    return bad_request("unknown role '" + out.role + "'", where + ".role", "invalid_value");
  const auto c = m.find("content");
  if (c == m.end() || c->is_null()) return std::nullopt;  // e.g. assistant turns with only tool calls
  if (c->is_string()) {
    out.parts.push_back(ContentPart{ContentPart::Kind::kText, c->get<std::string>(), {}, {}, {}});
    return std::nullopt;
  }
  if (!c->is_array())
    return bad_request("'" + where + ".content' must be a string or an array of parts", where + ".content",
                       "invalid_type");
  for (size_t j = 0; j < c->size(); ++j) {
    ContentPart part;
    if (auto e = parse_part((*c)[j], where + ".content[" + std::to_string(j) + "]", part)) return e;
    out.parts.push_back(std::move(part));
  }
  return std::nullopt;
}

}  // namespace

Result<ChatCompletionRequest> parse_chat_request(const nlohmann::json& body, const ParseLimits& limits) {
  ChatCompletionRequest req;
  const auto msgs = body.find("messages");
  if (msgs == body.end() || !msgs->is_array())
    return bad_request("'messages' must be an array", "messages", msgs == body.end() ? "missing_required_parameter" : "invalid_type");
  if (msgs->empty()) return bad_request("'messages' must not be empty", "messages", "invalid_value");
  for (size_t i = 0; i < msgs->size(); ++i) {
    ChatMessage m;
    if (auto e = parse_message((*msgs)[i], i, m)) return *e;
    req.messages.push_back(std::move(m));
  }
  FieldReader r(body);
  parse_generation_options(r, body, limits, req.options);
  if (auto lp = r.boolean("logprobs")) req.options.sampling.logprobs = *lp;
  if (auto k = r.integer("top_logprobs", 0, 20)) req.options.sampling.top_logprobs = static_cast<int>(*k);
  if (!r.failed() && req.options.sampling.top_logprobs > 0 && !req.options.sampling.logprobs)
    r.fail("top_logprobs", "'top_logprobs' requires 'logprobs': true");
  if (r.failed()) return r.error();
  return req;
}

}  // namespace gs::api
