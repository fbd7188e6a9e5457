// (method, path pattern) → api handler. Patterns are literal segments or "{param}"; a path that
// matches no pattern is 404, one that matches with another method 405. Knows no sockets.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "api/http_types.h"
#include "api/services.h"

namespace gs::server {

using Handler = std::function<api::Response(const api::Request&, api::Services&)>;

struct Route {
  std::string method;
  std::string pattern;     // e.g. "/v1/models/{id}"
  Handler handler;
};

class Router {
 public:
  void add(std::string method, std::string pattern, Handler h);
  // Fills req.path_params; `route` receives the matched pattern (for logs and metrics).
  api::Response dispatch(api::Request& req, api::Services& s, std::string& route) const;
  // The OpenAI endpoints of this server.
  static Router openai_routes();

 private:
  std::vector<Route> routes_;
};

}  // namespace gs::server
