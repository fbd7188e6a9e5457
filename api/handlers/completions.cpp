// POST /v1/completions: raw text (or token ids) in, text out; no chat template.
#include "api/handlers/generate.h"
#include "api/handlers/handlers.h"
#include "api/parse/completion_parse.h"

namespace gs::api {

Response handle_completions(const Request& req, Services& s) {
  nlohmann::json body;
  if (auto e = parse_json_object(req.body, body)) return error_response(*e);
  auto parsed = parse_completion_request(body, s.settings().limits);
  if (!parsed) return error_response(parsed.error());
  auto backend = s.backend();
  if (!backend || !backend->engine->ready()) return error_response(not_ready_error(s));
  auto model = resolve_model(s, *backend, parsed->options.model);
  if (!model) return error_response(model.error());

  GenerationJob job;
  job.wire = WireKind::kCompletion;
  if (parsed->has_ids) {
    const int vocab = backend->codec->vocab_size();
    for (int32_t id : parsed->prompt_ids)
      if (vocab > 0 && id >= vocab) return error_response(bad_request("token id out of range", "prompt", "invalid_value"));
    job.prompt = parsed->prompt_ids;
  } else {
    auto ids = backend->codec->encode_prompt(parsed->prompt);
    if (!ids) return error_response(ids.error());
    job.prompt = std::move(ids.value());
  }
  if (job.prompt.empty()) return error_response(bad_request("'prompt' must not be empty", "prompt", "invalid_value"));
  job.options = std::move(parsed->options);
  job.engine_model = model->engine_model;
  job.public_model = model->public_model;
  return start_generation(s, *backend, req, std::move(job));
}

}  // namespace gs::api
