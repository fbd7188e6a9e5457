#include "api/services.h"

namespace gs::api {

void Services::set_backend(Backend b) {
  std::lock_guard lk(mu_);
  backend_ = std::move(b);
}

void Services::set_load_error(std::string message) {
  std::lock_guard lk(mu_);
  load_error_ = std::move(message);
}

std::optional<Backend> Services::backend() const {
  std::lock_guard lk(mu_);
  return backend_;
}

bool Services::ready() const {
  auto b = backend();
  return b && b->engine && b->engine->ready();
}

std::string Services::load_error() const {
  std::lock_guard lk(mu_);
  return load_error_;
}

}  // namespace gs::api
