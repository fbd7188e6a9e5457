// State every connection shares: limits, the router, the services, and shutdown bookkeeping.
#pragma once
#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "api/services.h"
#include "server/router.h"

namespace gs::server {

struct SessionLimits {
  int64_t max_body_bytes = 8 << 20;
  int64_t max_upload_bytes = 25 << 20;   // multipart/form-data bodies (audio uploads)
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{30000};
  std::chrono::milliseconds idle_timeout{60000};
  std::chrono::milliseconds write_timeout{60000};
  std::chrono::milliseconds sse_heartbeat{15000};
};

struct ServerContext {
  SessionLimits limits;
  std::string api_key;
  std::string cors_origin;
  Router router;
  std::shared_ptr<api::Services> services;
  std::atomic<int> in_flight{0};          // requests read but not yet fully answered
  std::atomic<bool> shutting_down{false};  // no keep-alive, no new requests
};

}  // namespace gs::server
