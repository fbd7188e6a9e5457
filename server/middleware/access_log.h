// One spdlog line per request: id, method, path, status, model, tokens, timings.
#pragma once
#include <chrono>
#include <string>

#include "api/http_types.h"

namespace gs::server {

void log_request(const api::Request& req, int status, std::chrono::steady_clock::time_point start, bool streamed);

}  // namespace gs::server
