#include "runtime/core/threading.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <thread>

extern "C" void openblas_set_num_threads(int);

namespace gs::runtime {

struct ComputeContext::Impl {
  tbb::task_arena arena;
  explicit Impl(int n) : arena(n) {}
};

ComputeContext::ComputeContext(int num_threads) {
  if (num_threads <= 0) num_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  num_threads_ = num_threads;
  openblas_set_num_threads(1);
  impl_ = std::make_unique<Impl>(num_threads);
}

ComputeContext::~ComputeContext() = default;

void ComputeContext::parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) const {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  if (num_threads_ == 1 || n <= grain) {
    fn(0, n);
    return;
  }
  impl_->arena.execute([&] {
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, n, grain),
                      [&](const tbb::blocked_range<int64_t>& r) { fn(r.begin(), r.end()); });
  });
}

}  // namespace gs::runtime
