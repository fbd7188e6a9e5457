// Benchmark, not a test: throughput of quant_matmul_rows on Gemma 3n E2B shapes. Prints GB/s of
// weights streamed (decode, n = 1 and 4) and GFLOP/s (prefill, n = 512) per format, single and
// all threads, plus the scalar reference and f32 sgemm for comparison. Asserts only that results
// are finite. Numbers are medians of a few runs; on a shared machine they are noisy.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <vector>

#include "runtime/core/threading.h"
#include "runtime/kernels/isa.h"
#include "runtime/kernels/quant.h"
#include "tests/kernels/quant_test_util.h"

namespace gs::runtime {
namespace {

struct Shape {
  const char* name;
  int64_t rows, cols;
};
constexpr Shape kShapes[] = {
    {"attn 2048x2048", 2048, 2048},
    {"up 8192x2048", 8192, 2048},
    {"down 2048x8192", 2048, 8192},
    {"lm_head 262400x2048", 262400, 2048},
};

int runs() {
  const char* s = std::getenv("GS_BENCH_RUNS");
  return s ? std::max(1, std::atoi(s)) : 5;
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Median over `reps` calls after a warm-up. Single-threaded runs are timed in CPU time of this
// thread, which ignores time the scheduler gave to other processes on a busy machine; parallel
// runs can only be timed by the wall clock and are noisy there.
double median_seconds(int reps, bool cpu_time, const std::function<void()>& fn) {
  fn();  // warm-up (page faults, thread_local scratch)
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const auto a = std::chrono::steady_clock::now();
    const double c = thread_cpu_seconds();
    fn();
    t.push_back(cpu_time ? thread_cpu_seconds() - c
                         : std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// Single-core read bandwidth over `bytes` (the decode roofline these kernels are measured against).
double read_bandwidth_gbs(size_t bytes, int reps) {
  std::vector<uint64_t> buf(bytes / 8, 1);
  uint64_t sink = 0;
  const double t = median_seconds(reps, true, [&] {
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (size_t i = 0; i + 4 <= buf.size(); i += 4) {
      a ^= buf[i];
      b ^= buf[i + 1];
      c ^= buf[i + 2];
      d ^= buf[i + 3];
    }
    sink += a ^ b ^ c ^ d;
  });
  EXPECT_NE(sink, 12345u);  // keeps the loop alive
  return static_cast<double>(bytes) / 1e9 / t;
}

bool selected(const char* what) {
  const char* f = std::getenv("GS_BENCH_FILTER");
  return f == nullptr || std::strstr(what, f) != nullptr;
}

// Quantizes rows cycling through a small random pool (a 262400-row f32 matrix would be 2 GB).
test::QuantWeight make_bench_weight(WeightFormat f, int64_t rows, int64_t cols) {
  const int64_t pool_rows = 64;
  const auto pool = test::random_floats(static_cast<size_t>(pool_rows * cols), 9, 0.05f);
  test::QuantWeight q;
  const size_t rb = quant_row_bytes(f, cols);
  q.bytes.resize(rb * static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) quantize_row(f, pool.data() + (r % pool_rows) * cols, cols, q.bytes.data() + r * rb);
  q.view = WeightView{f, rows, cols, rb, q.bytes.data()};
  return q;
}

void run_matmul(const ComputeContext& ctx, const WeightView& w, const float* x, int64_t n, float* y, bool ref) {
  const int64_t grain = std::max<int64_t>(16, w.rows / (ctx.num_threads() * 4));
  ctx.parallel_for(w.rows, grain, [&](int64_t r0, int64_t r1) {
    if (ref) quant_matmul_rows_reference(w.format, w, r0, r1, x, n, w.cols, y, w.rows);
    else quant_matmul_rows(w.format, w, r0, r1, x, n, w.cols, y, w.rows);
  });
}

bool all_finite(const std::vector<float>& v) {
  return std::all_of(v.begin(), v.end(), [](float f) { return std::isfinite(f); });
}

TEST(QuantBench, E2BShapes) {
  std::printf("isa: avx2+fma+f16c=%d, runs per median=%d\n", has_avx2_fma_f16c() ? 1 : 0, runs());
  std::printf("single-core read bandwidth: %.2f GB/s (1 GB buffer), %.2f GB/s (8 MB, cache)\n",
              read_bandwidth_gbs(size_t{1} << 30, 3), read_bandwidth_gbs(size_t{8} << 20, 9));
  ComputeContext one(1), all(0);
  for (auto f : {WeightFormat::kQ8, WeightFormat::kQ4, WeightFormat::kBF16}) {
    for (const Shape& s : kShapes) {
      char tag[96];
      std::snprintf(tag, sizeof(tag), "%s %s", weight_format_name(f), s.name);
      if (!selected(tag)) continue;
      const auto w = make_bench_weight(f, s.rows, s.cols);
      const double gb = static_cast<double>(w.view.bytes()) / 1e9;
      for (int64_t n : {1, 4, 512}) {
        if (n == 512 && s.rows > 10000) continue;  // 0.5 TFLOP per call: too slow to repeat
        const auto x = test::random_floats(static_cast<size_t>(n * s.cols), 3);
        std::vector<float> y(static_cast<size_t>(n * s.rows));
        const int reps = n == 512 ? std::max(1, runs() / 2) : runs();
        for (const ComputeContext* ctx : {&one, &all}) {
          const bool cpu = ctx->num_threads() == 1;
          const double t = median_seconds(reps, cpu, [&] { run_matmul(*ctx, w.view, x.data(), n, y.data(), false); });
          ASSERT_TRUE(all_finite(y));
          const double gflop = 2.0 * s.rows * s.cols * n / 1e9;
          std::printf("%-26s n=%-4lld threads=%d %-4s %9.3f ms %6.2f GB/s %7.2f GFLOP/s\n", tag,
                      static_cast<long long>(n), ctx->num_threads(), cpu ? "cpu" : "wall", t * 1e3, gb / t, gflop / t);
        }
      }
      if (s.rows == 2048 && s.cols == 2048) {  // scalar reference, for the speed-up ratio
        const auto x = test::random_floats(static_cast<size_t>(s.cols), 3);
        std::vector<float> y(static_cast<size_t>(s.rows));
        const double t = median_seconds(3, true, [&] { run_matmul(one, w.view, x.data(), 1, y.data(), true); });
        std::printf("%-26s n=1    threads=1 cpu  %9.3f ms %6.2f GB/s (scalar reference)\n", tag, t * 1e3, gb / t);
      }
    }
  }
}

}  // namespace
}  // namespace gs::runtime
