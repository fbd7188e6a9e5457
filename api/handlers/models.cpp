// GET /v1/models and /v1/models/{id}.
#include <nlohmann/json.hpp>

#include "api/handlers/generate.h"
#include "api/handlers/handlers.h"

namespace gs::api {
namespace {

nlohmann::json model_object(const Services& s, const std::string& id) {
  return {{"id", id},
          {"object", "model"},
          {"created", s.settings().created},
          {"owned_by", s.settings().owned_by},
          {"modalities", {"text"}}};
}

}  // namespace

Response handle_list_models(const Request&, Services& s) {
  nlohmann::json data = nlohmann::json::array();
  if (auto b = s.backend()) {
    for (const std::string& id : public_model_ids(s, *b)) data.push_back(model_object(s, id));
  } else if (!s.settings().model_name.empty()) {
    data.push_back(model_object(s, s.settings().model_name));  // still loading: list the configured name
  }
  return Response::json(200, nlohmann::json{{"object", "list"}, {"data", data}}.dump());
}

Response handle_get_model(const Request& req, Services& s) {
  const std::string id = req.path_params.empty() ? std::string() : req.path_params[0];
  std::vector<std::string> ids;
  if (auto b = s.backend()) ids = public_model_ids(s, *b);
  else if (!s.settings().model_name.empty()) ids.push_back(s.settings().model_name);
  for (const std::string& known : ids)
    if (known == id) return Response::json(200, model_object(s, id).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  ApiError e = not_found("The model '" + id + "' does not exist", "model_not_found");
  e.param = "model";
  return error_response(e);
}

}  // namespace gs::api
