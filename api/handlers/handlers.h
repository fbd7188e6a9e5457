// Endpoint handlers. Each takes the parsed HTTP request and the shared services and returns a
// Response; none throws (the router still wraps them in a catch-all as a last line of defence).
#pragma once
#include "api/http_types.h"
#include "api/services.h"

namespace gs::api {

Response handle_chat_completions(const Request& req, Services& s);   // POST /v1/chat/completions
Response handle_completions(const Request& req, Services& s);        // POST /v1/completions
Response handle_list_models(const Request& req, Services& s);        // GET /v1/models
Response handle_get_model(const Request& req, Services& s);          // GET /v1/models/{id}
Response handle_health(const Request& req, Services& s);             // GET /health
Response handle_metrics(const Request& req, Services& s);            // GET /metrics
Response handle_audio_transcriptions(const Request& req, Services& s);  // POST /v1/audio/transcriptions
Response handle_audio_translations(const Request& req, Services& s);    // POST /v1/audio/translations

}  // namespace gs::api
