// Engine behaviour on the tiny fixture model: continuous batching gives the same greedy tokens as
// running each sequence alone; cancelling one sequence mid-batch leaves the others unchanged;
// queue overflow is reported; the step planner interleaves prefill chunks with decode.
#include <gtest/gtest.h>

#include <condition_variable>
#include <fstream>
#include <future>
#include <mutex>

#include "runtime/engine/engine.h"
#include "runtime/engine/step_planner.h"
#include "tests/support/compare.h"

namespace gs::runtime {
namespace {

// Collects a request's events; lets a test wait for the end.
class Collector : public EventSink {
 public:
  void on_event(const TokenEvent& ev) override {
    std::lock_guard<std::mutex> lk(mu_);
    if (ev.kind == TokenEvent::Kind::kToken) {
      if (tokens_.empty()) first_token_at = std::chrono::steady_clock::now();
      tokens_.push_back(ev.token);
    }
    if (ev.kind != TokenEvent::Kind::kToken) {
      finished_at = std::chrono::steady_clock::now();
      done_ = true;
      finish_ = ev.finish;
      failed_ = ev.kind == TokenEvent::Kind::kFailed;
      cv_.notify_all();
    }
    if (on_token_ && ev.kind == TokenEvent::Kind::kToken) on_token_(tokens_.size());
  }
  std::vector<int32_t> wait() {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait_for(lk, std::chrono::seconds(60), [&] { return done_; });
    EXPECT_TRUE(done_);
    return tokens_;
  }
  FinishInfo finish() const { return finish_; }
  // Set under the lock: the engine thread may already be delivering tokens.
  void set_on_token(std::function<void(size_t)> fn) {
    std::lock_guard<std::mutex> lk(mu_);
    on_token_ = std::move(fn);
  }
  std::chrono::steady_clock::time_point first_token_at, finished_at;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int32_t> tokens_;
  bool done_ = false, failed_ = false;
  FinishInfo finish_;
  std::function<void(size_t)> on_token_;
};

std::vector<int32_t> prompt(int variant) {
  std::vector<int32_t> ids;
  for (int64_t v : test::load_i64("gemma3n-tiny/golden/text_prompt_ids.npy")) ids.push_back(static_cast<int32_t>(v));
  ids.resize(ids.size() - static_cast<size_t>(variant * 3));  // different lengths and contents
  return ids;
}

GenerationRequest greedy_request(std::vector<int32_t> p, int n, std::shared_ptr<EventSink> sink) {
  GenerationRequest r;
  r.prompt = std::move(p);
  r.max_tokens = n;
  r.sampling.temperature = 0.f;
  r.sink = std::move(sink);
  return r;
}

std::unique_ptr<Engine> tiny_engine(int max_queue = 64) {
  EngineOptions o;
  o.model_dir = test::fixture_path("gemma3n-tiny/model");
  o.threads = 2;
  o.max_queue = max_queue;
  o.prefill_chunk = 8;  // forces chunked prefill of the 24-token prompts
  return create_engine(o);
}

TEST(Engine, GreedyMatchesReferenceTokens) {
  auto e = tiny_engine();
  auto c = std::make_shared<Collector>();
  ASSERT_TRUE(e->submit(greedy_request(prompt(0), 16, c)).ok());
  const auto toks = c->wait();
  const auto want = test::load_i64("gemma3n-tiny/golden/text_greedy_tokens.npy");
  ASSERT_EQ(toks.size(), want.size());
  for (size_t i = 0; i < toks.size(); ++i) EXPECT_EQ(toks[i], want[i]) << i;
  EXPECT_EQ(c->finish().reason, FinishInfo::Reason::kLength);
}

TEST(Engine, BatchedDecodeEqualsEachSequenceAlone) {
  std::vector<std::vector<int32_t>> alone;
  {
    auto e = tiny_engine();
    for (int v = 0; v < 4; ++v) {
      auto c = std::make_shared<Collector>();
      ASSERT_TRUE(e->submit(greedy_request(prompt(v), 12, c)).ok());
      alone.push_back(c->wait());
    }
  }
  auto e = tiny_engine();
  std::vector<std::shared_ptr<Collector>> cs;
  for (int v = 0; v < 4; ++v) {
    cs.push_back(std::make_shared<Collector>());
    ASSERT_TRUE(e->submit(greedy_request(prompt(v), 12, cs.back())).ok());
  }
  for (int v = 0; v < 4; ++v) EXPECT_EQ(cs[v]->wait(), alone[v]) << "sequence " << v;
}

TEST(Engine, CancelMidBatchLeavesOthersUnchanged) {
  auto e = tiny_engine();
  auto ref = std::make_shared<Collector>();
  ASSERT_TRUE(e->submit(greedy_request(prompt(1), 12, ref)).ok());
  const auto want = ref->wait();

  auto victim = std::make_shared<Collector>();
  auto keep = std::make_shared<Collector>();
  auto h = e->submit(greedy_request(prompt(0), 1000, victim));
  ASSERT_TRUE(h.ok());
  RequestHandle handle = *h;
  // From the third token on (tokens may arrive before the callback is in place).
  victim->set_on_token([handle](size_t n) {
    if (n >= 3) handle.cancel();
  });
  ASSERT_TRUE(e->submit(greedy_request(prompt(1), 12, keep)).ok());
  EXPECT_EQ(keep->wait(), want);
  const auto vt = victim->wait();
  EXPECT_EQ(victim->finish().reason, FinishInfo::Reason::kCancelled) << ::testing::PrintToString(vt);
  EXPECT_LT(victim->finish().completion_tokens, 1000);
}

TEST(Engine, RejectsBadRequests) {
  auto e = tiny_engine();
  auto c = std::make_shared<Collector>();
  EXPECT_EQ(e->submit(greedy_request({}, 4, c)).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(e->submit(greedy_request({2, 100000}, 4, c)).error().code, ErrorCode::kInvalidArgument);
  auto r = greedy_request({2, 3}, 4, c);
  r.model = "no-such-model";
  EXPECT_EQ(e->submit(r).error().code, ErrorCode::kNotFound);
}

TEST(StepPlanner, DecodersFirstThenPrefillChunks) {
  std::vector<SeqState> s = {{0, 0}, {100, 0}, {0, 0}, {5, 0}};
  auto items = plan_step(s, {64}, 0);
  ASSERT_EQ(items.size(), 3u);  // the second prompt waits for the next step
  EXPECT_EQ(items[0].seq, 0);
  EXPECT_EQ(items[1].seq, 2);
  EXPECT_EQ(items[2].seq, 1);
  EXPECT_EQ(items[2].tokens, 62);  // the row budget left after two decoders, oldest prompt first
}

TEST(StepPlanner, PrefillAlwaysProgressesUnderManyDecoders) {
  std::vector<SeqState> s(40, SeqState{0, 0});
  s.push_back({1000, 0});
  auto items = plan_step(s, {32}, 0);
  ASSERT_EQ(items.size(), 41u);
  EXPECT_EQ(items.back().tokens, 16);  // a small chunk still runs although 40 decoders exhaust the budget
}

TEST(StepPlanner, SmallerPrefillChunksWhileStreamsDecode) {
  std::vector<SeqState> alone = {{1000, 0}};
  EXPECT_EQ(plan_step(alone, {512, 64}, 0)[0].tokens, 512);  // nobody waiting: the full chunk
  std::vector<SeqState> busy = {{0, 0}, {0, 0}, {1000, 0}};
  auto items = plan_step(busy, {512, 64}, 0);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[2].tokens, 62);  // 64 rows in all: the decoders' next token is not held up
}

TEST(StepPlanner, OneGroupPerStepRotating) {
  std::vector<SeqState> s = {{0, 0}, {0, 1}, {0, 1}};
  auto a = plan_step(s, {16}, 0);
  auto b = plan_step(s, {16}, 1);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].seq, 0);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].seq, 1);
}

}  // namespace
}  // namespace gs::runtime

namespace gs::runtime {
namespace {

TEST(EngineBudget, QueuesWithinBudgetThenRejects) {
  EngineOptions o;
  o.model_dir = test::fixture_path("gemma3n-tiny/model");
  o.threads = 2;
  o.max_queue = 1;
  // Weights (7.66 MB f32) plus room for the KV cache of one ~924-position sequence but not two:
  // one full-attention producer layer x 924 x (K+V) x 64 floats = 473 KB, plus four sliding rings
  // of 8 positions = 16 KB; layers 5-9 share and store nothing.
  o.memory_budget_bytes = 7663680 + 700000;
  auto e = create_engine(o);
  auto a = std::make_shared<Collector>(), b = std::make_shared<Collector>(), c = std::make_shared<Collector>();
  std::promise<void> started;
  a->set_on_token([&started](size_t n) {
    if (n == 1) started.set_value();
  });
  auto first = e->submit(greedy_request(prompt(0), 900, a));
  ASSERT_TRUE(first.ok()) << first.error().message;
  started.get_future().wait();  // admitted and decoding
  ASSERT_TRUE(e->submit(greedy_request(prompt(1), 900, b)).ok());  // waits: the budget holds one
  auto r = e->submit(greedy_request(prompt(2), 900, c));           // queue (1) is full
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kResourceExhausted);
  auto huge = e->submit(greedy_request(prompt(2), 30000, c));      // could never fit
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.error().code, ErrorCode::kResourceExhausted);
  EXPECT_FALSE(a->wait().empty());
  EXPECT_FALSE(b->wait().empty());
  // b was admitted only once a had left.
  EXPECT_GE(b->first_token_at, a->finished_at);
  EXPECT_NE(b->finish().reason, FinishInfo::Reason::kCancelled);
}

}  // namespace
}  // namespace gs::runtime

namespace gs::runtime {
namespace {

// A custom MatFormer slice file is served as "<model>:<name>" from the full model's weights and
// gives the sliced checkpoint's reference tokens.
// The tiny model with the slice of the sliced checkpoint (layers 5-6 out, FFN prefixes of 128)
// loaded from a custom slice file, served as "model:tiny-slice".
std::unique_ptr<Engine> tiny_slice_engine(const std::string& dir_name) {
  const std::string dir = test::temp_dir(dir_name);
  std::ofstream(dir + "/tiny.json") << R"({"name":"tiny-slice","layers_skipped":[5,6],)"
                                       R"("ffn_hidden_dims":[128,128,128,128,256,128,128,256]})";
  EngineOptions o;
  o.model_dir = test::fixture_path("gemma3n-tiny/model");
  o.threads = 2;
  o.custom_slices = {dir + "/tiny.json"};
  return create_engine(o);
}

TEST(EngineSlices, CustomSliceFileIsServedAndMatchesReference) {
  auto e = tiny_slice_engine("slice-file");
  bool listed = false;
  for (const auto& m : e->models()) listed |= m.id == "model:tiny-slice";
  EXPECT_TRUE(listed);
  auto c = std::make_shared<Collector>();
  auto r = greedy_request(prompt(0), 16, c);
  r.model = "model:tiny-slice";
  ASSERT_TRUE(e->submit(std::move(r)).ok());
  const auto toks = c->wait();
  const auto want = test::load_i64("gemma3n-tiny/golden/matformer_greedy_tokens.npy");
  ASSERT_EQ(toks.size(), want.size());
  for (size_t i = 0; i < toks.size(); ++i) EXPECT_EQ(toks[i], want[i]);
  EXPECT_EQ(c->finish().model, "model:tiny-slice");
}

// Requests for the full model and for its slice, running at the same time, share forward steps
// (the two sizes agree on every KV role) and each still gets its own reference tokens.
TEST(EngineSlices, TwoSizesShareStepsAndKeepTheirReferences) {
  auto e = tiny_slice_engine("slice-mixed");
  std::vector<std::shared_ptr<Collector>> full, slice;
  for (int i = 0; i < 3; ++i) {
    full.push_back(std::make_shared<Collector>());
    slice.push_back(std::make_shared<Collector>());
    auto rf = greedy_request(prompt(0), 16, full.back());
    rf.model = "model";
    auto rs = greedy_request(prompt(0), 16, slice.back());
    rs.model = "model:tiny-slice";
    ASSERT_TRUE(e->submit(std::move(rf)).ok());
    ASSERT_TRUE(e->submit(std::move(rs)).ok());
  }
  const auto want_full = test::load_i64("gemma3n-tiny/golden/text_greedy_tokens.npy");
  const auto want_slice = test::load_i64("gemma3n-tiny/golden/matformer_greedy_tokens.npy");
  for (int i = 0; i < 3; ++i) {
    const auto f = full[i]->wait(), s = slice[i]->wait();
    ASSERT_EQ(f.size(), want_full.size());
    ASSERT_EQ(s.size(), want_slice.size());
    for (size_t k = 0; k < f.size(); ++k) EXPECT_EQ(f[k], want_full[k]) << "full " << i << " step " << k;
    for (size_t k = 0; k < s.size(); ++k) EXPECT_EQ(s[k], want_slice[k]) << "slice " << i << " step " << k;
  }
  const auto st = e->stats();
  EXPECT_GT(st.mixed_size_steps, 0);
  EXPECT_GE(st.steps_total, st.mixed_size_steps);
}

}  // namespace
}  // namespace gs::runtime
