// The one owner of the compute cores: a oneTBB arena of N workers, created at start-up and passed
// explicitly to models and kernels. OpenBLAS runs single-threaded *inside* our tiles (we never
// let OpenBLAS spawn its own threads), so the two never oversubscribe the CPU.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

namespace gs::runtime {

class ComputeContext {
 public:
  explicit ComputeContext(int num_threads = 0);  // 0: all hardware threads
  ~ComputeContext();
  ComputeContext(const ComputeContext&) = delete;
  ComputeContext& operator=(const ComputeContext&) = delete;

  int num_threads() const { return num_threads_; }
  // Runs fn(begin, end) over [0, n) split into chunks of at least `grain`, inside the arena.
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) const;

  // Weight bytes the matmul entry points have read through this context (one relaxed add per
  // call, on the calling thread). Decode streams every weight it touches once per step, so
  // bytes per token over tokens per second against the machine's read bandwidth is the
  // roofline figure `gemma3n-cli bench` prints.
  void count_weight_bytes(uint64_t bytes) const { weight_bytes_.fetch_add(bytes, std::memory_order_relaxed); }
  uint64_t weight_bytes() const { return weight_bytes_.load(std::memory_order_relaxed); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int num_threads_ = 1;
  mutable std::atomic<uint64_t> weight_bytes_{0};
};

}  // namespace gs::runtime
