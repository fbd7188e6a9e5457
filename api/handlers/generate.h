// Shared tail of the two generation endpoints: submit n sequences to the engine and return the
// Response (a PendingResponse or an SseChannel), or the error submit() gave (429/503/400).
#pragma once
#include <string>
#include <vector>

#include "api/http_types.h"
#include "api/result.h"
#include "api/serialize/wire.h"
#include "api/services.h"
#include "api/types/common.h"

namespace gs::api {

struct GenerationJob {
  WireKind wire = WireKind::kChat;
  std::vector<int32_t> prompt;
  std::vector<runtime::MediaInput> media;
  GenerationOptions options;
  std::string engine_model;     // passed to GenerationRequest::model ("" = default)
  std::string public_model;     // echoed in the response
};

struct ResolvedModel {
  std::string engine_model;
  std::string public_model;
};

// Maps the request's `model` to an engine size id; unknown names → 404 model_not_found.
Result<ResolvedModel> resolve_model(const Services& s, const Backend& b, const std::string& requested);
// The model ids /v1/models lists (the configured name first, then the engine's sizes).
std::vector<std::string> public_model_ids(const Services& s, const Backend& b);

// 503 + Retry-After while the model loads (or after a failed load).
ApiError not_ready_error(const Services& s);

Response start_generation(Services& s, const Backend& b, const Request& req, GenerationJob job);

// "chatcmpl-<24 hex>" etc.
std::string make_response_id(const std::string& prefix);

}  // namespace gs::api
