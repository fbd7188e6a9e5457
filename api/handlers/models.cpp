// GET /v1/models and /v1/models/{id}.
#include <nlohmann/json.hpp>

#include "api/handlers/generate.h"
#include "api/handlers/handlers.h"

namespace gs::api {
namespace {

// `b`: the loaded backend, for what the model can take and how big each MatFormer size is.
nlohmann::json model_object(const Services& s, const std::string& id, const Backend* b) {
  nlohmann::json m = {{"id", id}, {"object", "model"}, {"created", s.settings().created},
                      {"owned_by", s.settings().owned_by}};
  nlohmann::json modalities = {"text"};
  if (b) {
    if (b->engine->media_tokens(runtime::MediaInput::Kind::kImage) > 0) modalities.push_back("image");
    if (b->engine->media_tokens(runtime::MediaInput::Kind::kAudio) > 0) modalities.push_back("audio");
    const auto models = b->engine->models();
    for (const auto& info : models)
      if (info.id == id || (id == s.settings().model_name && &info == &models.front())) {
        m["effective_parameters"] = info.effective_params;
        m["loaded"] = info.loaded;
      }
  }
  m["modalities"] = modalities;
  if (!s.settings().notice.empty()) m["notice"] = s.settings().notice;
  return m;
}

}  // namespace

Response handle_list_models(const Request&, Services& s) {
  nlohmann::json data = nlohmann::json::array();
  if (auto b = s.backend()) {
    for (const std::string& id : public_model_ids(s, *b)) data.push_back(model_object(s, id, &*b));
  } else if (!s.settings().model_name.empty()) {
    data.push_back(model_object(s, s.settings().model_name, nullptr));  // still loading: list the configured name
  }
  return Response::json(200, nlohmann::json{{"object", "list"}, {"data", data}}.dump());
}

Response handle_get_model(const Request& req, Services& s) {
  const std::string id = req.path_params.empty() ? std::string() : req.path_params[0];
  std::vector<std::string> ids;
  const auto b = s.backend();
  if (b) ids = public_model_ids(s, *b);
  else if (!s.settings().model_name.empty()) ids.push_back(s.settings().model_name);
  for (const std::string& known : ids)
    if (known == id)
      return Response::json(200, model_object(s, id, b ? &*b : nullptr)
                                     .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  ApiError e = not_found("The model '" + id + "' does not exist", "model_not_found");
  e.param = "model";
  return error_response(e);
}

}  // namespace gs::api
