// The HTTP surface api/ sees: plain Request/Response values plus two asynchronous channels
// (PendingResponse for a JSON answer that arrives later, SseChannel for event streams).
// server/ implements the sockets; api/ never includes Beast.
#pragma once
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace gs::api {

// Filled by handlers, read by the server's access log once the response is done.
struct RequestLog {
  std::mutex mu;
  std::string model;
  int prompt_tokens = 0;
  int completion_tokens = 0;
  double ttft_s = 0;
};

struct Request {
  std::string method;                                    // "GET", "POST", ...
  std::string path;                                      // without the query
  std::string query;
  std::unordered_map<std::string, std::string> headers;  // names lower-case
  std::string body;
  std::string id;                                        // x-request-id
  std::vector<std::string> path_params;                  // captured by the router ({id})
  std::shared_ptr<RequestLog> log = std::make_shared<RequestLog>();

  const std::string* header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? nullptr : &it->second;
  }
};

// Cancel hook shared by both channels: the server calls cancel() when the peer goes away.
class Cancellable {
 public:
  void set_cancel(std::function<void()> fn);
  void cancel();

 private:
  std::mutex mu_;
  std::function<void()> fn_;
  bool cancelled_ = false;
};

struct Response;

// A JSON answer computed later (non-streaming generation). complete() may be called from any
// thread, once; the callback runs on that thread (or at once if already complete).
class PendingResponse : public Cancellable {
 public:
  void complete(Response r);
  void on_complete(std::function<void(Response)> cb);
  // Drops the callback without calling it (the client went away): whoever completes this later
  // no longer keeps the waiting session alive.
  void detach();

 private:
  std::mutex mu_;
  std::unique_ptr<Response> done_;
  std::function<void(Response)> cb_;
};

// Server-sent events. The producer (engine thread) push()es complete "data: ...\n\n" frames and
// close()s; it never blocks. The consumer (server strand) is woken through the notify callback
// and drain()s. Unbounded on purpose: the engine must not block and frames are small.
class SseChannel : public Cancellable {
 public:
  void push(std::string frame);
  void close();
  void set_notify(std::function<void()> fn);
  // Moves queued frames into `out`; returns true when the producer has closed and all is drained.
  bool drain(std::deque<std::string>& out);

 private:
  void notify(std::unique_lock<std::mutex>& lk);
  std::mutex mu_;
  std::deque<std::string> frames_;
  bool closed_ = false;
  std::function<void()> notify_;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::shared_ptr<PendingResponse> pending;              // set: the real answer comes later
  std::shared_ptr<SseChannel> stream;                    // set: 200 text/event-stream

  static Response json(int status, std::string body) {
    Response r;
    r.status = status;
    r.body = std::move(body);
    return r;
  }
};

}  // namespace gs::api
