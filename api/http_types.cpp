#include "api/http_types.h"

namespace gs::api {

void Cancellable::set_cancel(std::function<void()> fn) {
  std::unique_lock lk(mu_);
  if (cancelled_) {
    lk.unlock();
    if (fn) fn();
    return;
  }
  fn_ = std::move(fn);
}

void Cancellable::cancel() {
  std::function<void()> fn;
  {
    std::lock_guard lk(mu_);
    if (cancelled_) return;
    cancelled_ = true;
    fn = std::move(fn_);
  }
  if (fn) fn();
}

void PendingResponse::complete(Response r) {
  std::function<void(Response)> cb;
  {
    std::lock_guard lk(mu_);
    if (done_) return;
    if (!cb_) {
      done_ = std::make_unique<Response>(std::move(r));
      return;
    }
    done_ = std::make_unique<Response>();  // marks completion
    cb = std::move(cb_);
  }
  cb(std::move(r));
}

void PendingResponse::detach() {
  std::function<void(Response)> cb;
  {
    std::lock_guard lk(mu_);
    cb = std::move(cb_);
    cb_ = nullptr;
    if (!done_) done_ = std::make_unique<Response>();  // a later complete() is ignored
  }
}

void PendingResponse::on_complete(std::function<void(Response)> cb) {
  std::unique_lock lk(mu_);
  if (done_) {
    Response r = std::move(*done_);
    lk.unlock();
    cb(std::move(r));
    return;
  }
  cb_ = std::move(cb);
}

void SseChannel::push(std::string frame) {
  std::unique_lock lk(mu_);
  if (closed_) return;
  frames_.push_back(std::move(frame));
  notify(lk);
}

void SseChannel::close() {
  std::unique_lock lk(mu_);
  if (closed_) return;
  closed_ = true;
  notify(lk);
}

void SseChannel::set_notify(std::function<void()> fn) {
  std::unique_lock lk(mu_);
  notify_ = std::move(fn);
  if (!frames_.empty() || closed_) notify(lk);
}

void SseChannel::notify(std::unique_lock<std::mutex>& lk) {
  auto fn = notify_;
  lk.unlock();
  if (fn) fn();
}

bool SseChannel::drain(std::deque<std::string>& out) {
  std::lock_guard lk(mu_);
  while (!frames_.empty()) {
    out.push_back(std::move(frames_.front()));
    frames_.pop_front();
  }
  return closed_;
}

}  // namespace gs::api
