// The media pool and the pending answer: what the server's shutdown relies on (no job, and no
// callback of a finished or abandoned answer, keeps an HTTP session alive past its I/O context).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "api/http_types.h"
#include "api/media_workers.h"

namespace gs::api {
namespace {

using namespace std::chrono_literals;

TEST(MediaWorkers, WaitIdleReturnsOnlyAfterTheJobReleasedItsCaptures) {
  MediaWorkers pool(2, 8);
  auto session = std::make_shared<int>(7);  // stands for the HTTP session a job's callback holds
  std::weak_ptr<int> alive = session;
  std::atomic<bool> ran{false};
  ASSERT_TRUE(pool.post([s = std::move(session), &ran] {
    std::this_thread::sleep_for(50ms);
    ran = true;
  }));
  EXPECT_TRUE(pool.wait_idle(5s));
  EXPECT_TRUE(ran);
  EXPECT_TRUE(alive.expired());
}

TEST(MediaWorkers, WaitIdleTimesOutWhileAJobRuns) {
  MediaWorkers pool(1, 8);
  std::atomic<bool> release{false};
  ASSERT_TRUE(pool.post([&] {
    while (!release) std::this_thread::sleep_for(1ms);
  }));
  EXPECT_FALSE(pool.wait_idle(30ms));
  release = true;
  EXPECT_TRUE(pool.wait_idle(5s));
}

TEST(MediaWorkers, FullQueueRefusesWork) {
  MediaWorkers pool(1, 1);
  std::atomic<bool> release{false}, started{false};
  ASSERT_TRUE(pool.post([&] {
    started = true;
    while (!release) std::this_thread::sleep_for(1ms);
  }));
  while (!started) std::this_thread::sleep_for(1ms);  // the worker holds the first job; one slot is left
  EXPECT_TRUE(pool.post([] {}));
  EXPECT_FALSE(pool.post([] {}));
  release = true;
  EXPECT_TRUE(pool.wait_idle(5s));
}

TEST(PendingResponse, DetachDropsTheCallbackAndIgnoresALateAnswer) {
  auto p = std::make_shared<PendingResponse>();
  auto session = std::make_shared<int>(1);
  std::weak_ptr<int> alive = session;
  int calls = 0;
  p->on_complete([s = std::move(session), &calls](Response) { ++calls; });
  p->detach();
  EXPECT_TRUE(alive.expired());
  p->complete(Response::json(200, "{}"));
  EXPECT_EQ(calls, 0);
}

TEST(PendingResponse, CompleteCallsOnceAndReleasesTheCallback) {
  auto p = std::make_shared<PendingResponse>();
  auto session = std::make_shared<int>(1);
  std::weak_ptr<int> alive = session;
  int status = 0;
  p->on_complete([s = std::move(session), &status](Response r) { status = r.status; });
  p->complete(Response::json(201, "{}"));
  p->complete(Response::json(500, "{}"));
  EXPECT_EQ(status, 201);
  EXPECT_TRUE(alive.expired());
}

}  // namespace
}  // namespace gs::api
