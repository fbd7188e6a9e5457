// POST /v1/chat/completions: validate, render the Gemma chat template, submit.
#include "api/handlers/generate.h"
#include "api/handlers/handlers.h"
#include "api/parse/chat_parse.h"
#include "api/prompt/media_decode.h"

namespace gs::api {
namespace {

// Gemma knows user / model / system turns; OpenAI's extra roles map onto them.
std::string template_role(const std::string& role) {
  if (role == "developer") return "system";
  if (role == "tool") return "user";
  return role;
}

// Messages → template turns plus the decoded media, in placeholder order.
std::optional<ApiError> to_prompt_turns(const ChatCompletionRequest& chat, const runtime::Engine& engine,
                                        const ImageSourcePolicy& sources, std::vector<PromptTurn>& turns,
                                        std::vector<runtime::MediaInput>& media) {
  for (size_t i = 0; i < chat.messages.size(); ++i) {
    const ChatMessage& m = chat.messages[i];
    PromptTurn t{template_role(m.role), {}};
    for (size_t j = 0; j < m.parts.size(); ++j) {
      const ContentPart& p = m.parts[j];
      if (p.kind == ContentPart::Kind::kText) {
        t.parts.push_back({PromptPart::Kind::kText, p.text});
        continue;
      }
      // Media parts only come from content arrays, so j is the client's index too.
      const std::string where = "messages[" + std::to_string(i) + "].content[" + std::to_string(j) + "]";
      auto decoded = decode_media(p, engine, sources, where);
      if (!decoded) return decoded.error();
      media.push_back(std::move(decoded.value()));
      t.parts.push_back({p.kind == ContentPart::Kind::kImage ? PromptPart::Kind::kImage : PromptPart::Kind::kAudio, {}});
    }
    turns.push_back(std::move(t));
  }
  return std::nullopt;
}

bool has_media(const ChatCompletionRequest& chat) {
  for (const ChatMessage& m : chat.messages)
    for (const ContentPart& p : m.parts)
      if (p.kind != ContentPart::Kind::kText) return true;
  return false;
}

Response finish_chat(const Request& req, Services& s, ChatCompletionRequest chat, const Backend& backend,
                     ResolvedModel model) {
  GenerationJob job;
  job.wire = WireKind::kChat;
  std::vector<PromptTurn> turns;
  if (auto e = to_prompt_turns(chat, *backend.engine, s.settings().image_sources, turns, job.media))
    return error_response(*e);
  auto prompt = backend.codec->render_chat(turns);
  if (!prompt) return error_response(prompt.error());
  job.prompt = std::move(prompt->ids);
  job.options = std::move(chat.options);
  job.engine_model = model.engine_model;
  job.public_model = model.public_model;
  return start_generation(s, backend, req, std::move(job));
}

}  // namespace

Response handle_chat_completions(const Request& req, Services& s) {
  nlohmann::json body;
  if (auto e = parse_json_object(req.body, body)) return error_response(*e);
  auto chat = parse_chat_request(body, s.settings().limits);
  if (!chat) return error_response(chat.error());
  auto backend = s.backend();
  if (!backend || !backend->engine->ready()) return error_response(not_ready_error(s));
  auto model = resolve_model(s, *backend, chat->options.model);
  if (!model) return error_response(model.error());
  if (!has_media(chat.value())) return finish_chat(req, s, std::move(chat).value(), *backend, std::move(model).value());
  // Fetching, decoding and resizing media can take seconds: not on an I/O thread. The worker
  // gets its own copy of the request (the session's may go when the client does).
  auto job = [req_copy = req, &s, chat = std::move(chat).value(), backend = *backend,
              model = std::move(model).value()]() mutable {
    return finish_chat(req_copy, s, std::move(chat), backend, std::move(model));
  };
  return run_off_io_thread(s.media_workers(), std::move(job));
}



}  // namespace gs::api
