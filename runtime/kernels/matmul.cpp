#include "runtime/kernels/matmul.h"

#include "runtime/core/weight_memory.h"
#include "runtime/kernels/isa.h"
#include "runtime/kernels/q4_interleave.h"
#include "runtime/kernels/quant.h"
#include "runtime/kernels/quant_kernels.h"

#include <cblas.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <vector>


namespace gs::runtime {
namespace {

size_t row_bytes_for(WeightFormat f, int64_t cols) {
  return f == WeightFormat::kF32 ? static_cast<size_t>(cols) * 4 : quant_row_bytes(f, cols);
}

// Rows of W per parallel task: big enough to amortise scheduling, small enough to balance. 8
// tasks per thread instead of 4 (alternating A/B runs): E4B q4 decode +3.5 %, E2B pp256 +5 %,
// 4-stream decode unchanged; the threads wait less at the end of each of a step's ~300 matmuls.
int64_t row_grain(const ComputeContext& ctx, int64_t rows) {
  const int64_t tasks = static_cast<int64_t>(ctx.num_threads()) * 8;
  return std::max<int64_t>(16, (rows + tasks - 1) / tasks);
}

void f32_rows(const WeightView& w, int64_t r0, int64_t r1, const float* x, int64_t n, int64_t xs, float* y,
              int64_t ys) {
  const auto* W = reinterpret_cast<const float*>(w.data + static_cast<size_t>(r0) * w.row_bytes);
  const int lda = static_cast<int>(w.row_bytes / 4);
  if (n == 1) {
    cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(r1 - r0), static_cast<int>(w.cols), 1.f, W, lda, x, 1,
                0.f, y + r0, 1);
  } else {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n), static_cast<int>(r1 - r0),
                static_cast<int>(w.cols), 1.f, x, static_cast<int>(xs), W, lda, 0.f, y + r0, static_cast<int>(ys));
  }
}

// Where conversion writes row r: in place for plain rows; for interleaved ones, into a staging
// buffer of 8 plain rows that done() rewrites as one group once its last row is in.
class RowGroupWriter {
 public:
  RowGroupWriter(uint8_t* base, size_t row_bytes, int64_t blocks, int32_t group)
      : base_(base), rb_(row_bytes), blocks_(blocks), group_(group) {
    if (group_ > 1) stage_.resize(rb_ * static_cast<size_t>(group_));
  }
  uint8_t* row(int64_t r) {
    return group_ == 1 ? base_ + static_cast<size_t>(r) * rb_ : stage_.data() + static_cast<size_t>(r % group_) * rb_;
  }
  void done(int64_t r) {
    if (group_ == 1 || (r + 1) % group_ != 0) return;
    interleave_q4_group(stage_.data(), rb_, blocks_, base_ + static_cast<size_t>(r + 1 - group_) * rb_);
  }

 private:
  uint8_t* base_;
  size_t rb_;
  int64_t blocks_;
  int32_t group_;
  std::vector<uint8_t> stage_;
};

}  // namespace

const char* weight_format_name(WeightFormat f) {
  switch (f) {
    case WeightFormat::kF32: return "f32";
    case WeightFormat::kBF16: return "bf16";
    case WeightFormat::kQ8: return "q8";
    case WeightFormat::kQ4: return "q4";
  }
  return "?";
}

bool parse_weight_format(const std::string& s, WeightFormat* out) {
  for (auto f : {WeightFormat::kF32, WeightFormat::kBF16, WeightFormat::kQ8, WeightFormat::kQ4})
    if (s == weight_format_name(f)) {
      *out = f;
      return true;
    }
  return false;
}

WeightView WeightView::row(int64_t r) const {
  if (interleave != 1) throw std::logic_error("WeightView::row: an interleaved weight has no contiguous row");
  return {format, 1, cols, row_bytes, data + static_cast<size_t>(r) * row_bytes};
}

WeightView WeightView::first_rows(int64_t n) const {
  WeightView v = *this;
  v.rows = std::min(n, rows);
  return v;
}

WeightView WeightView::first_cols(int64_t n) const {
  WeightView v = *this;
  if (n % block_cols(format) != 0)
    throw std::invalid_argument("quantized column slices must be whole blocks (32 columns for q8, 64 for q4)");
  v.cols = std::min(n, cols);
  return v;
}

size_t WeightView::used_row_bytes() const { return std::min(row_bytes, row_bytes_for(format, cols)); }

void OwnedWeight::Free::operator()(uint8_t* p) const { std::free(p); }

OwnedWeight OwnedWeight::from_f32(const float* data, int64_t rows, int64_t cols, WeightFormat format,
                                  int32_t interleave) {
  if (cols % block_cols(format) != 0) format = WeightFormat::kF32;
  OwnedWeight o;
  const size_t rb = row_bytes_for(format, cols);
  o.size_ = rb * static_cast<size_t>(rows);
  const size_t alloc = std::max<size_t>(64, (o.size_ + 63) / 64 * 64);
  o.storage_.reset(alloc_weight_memory(alloc).release());
  if (!o.storage_) throw std::bad_alloc();
  const int32_t group = q4_row_group_for(format, rows, cols, interleave);
  RowGroupWriter out(o.storage_.get(), rb, cols / block_cols(format), group);
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t* dst = out.row(r);
    const float* src = data + r * cols;
    if (format == WeightFormat::kF32) std::memcpy(dst, src, rb);
    else quantize_row(format, src, cols, dst);
    out.done(r);
  }
  o.view_ = WeightView{format, rows, cols, rb, o.storage_.get(), group};
  return o;
}

OwnedWeight OwnedWeight::from_tensor(const TensorRef& t, WeightFormat format, int32_t interleave) {
  const int64_t rows = t.shape.empty() ? 1 : t.shape[0];
  const int64_t cols = rows == 0 ? 0 : t.numel() / std::max<int64_t>(rows, 1);
  if (format == WeightFormat::kBF16 && t.dtype == DType::kBF16) {  // as shipped: a plain copy
    OwnedWeight o;
    o.size_ = t.nbytes;
    o.storage_.reset(alloc_weight_memory(t.nbytes).release());
    if (!o.storage_) throw std::bad_alloc();
    std::memcpy(o.storage_.get(), t.data, t.nbytes);
    o.view_ = WeightView{format, rows, cols, static_cast<size_t>(cols) * 2, o.storage_.get()};
    return o;
  }
  // Convert in row blocks so a 2 GB tensor never needs a full f32 copy.
  OwnedWeight o;
  const WeightFormat f = cols % block_cols(format) != 0 ? WeightFormat::kF32 : format;
  const size_t rb = row_bytes_for(f, cols);
  o.size_ = rb * static_cast<size_t>(rows);
  o.storage_.reset(alloc_weight_memory(o.size_).release());
  if (!o.storage_) throw std::bad_alloc();
  std::vector<float> row(static_cast<size_t>(cols));
  const int32_t group = q4_row_group_for(f, rows, cols, interleave);
  RowGroupWriter out(o.storage_.get(), rb, cols / block_cols(f), group);
  for (int64_t r = 0; r < rows; ++r) {
    t.rows_to_f32(r, 1, 0, cols, row.data());
    uint8_t* dst = out.row(r);
    if (f == WeightFormat::kF32) std::memcpy(dst, row.data(), rb);
    else quantize_row(f, row.data(), cols, dst);
    out.done(r);
  }
  o.view_ = WeightView{f, rows, cols, rb, o.storage_.get(), group};
  return o;
}

namespace quant_detail {

ActBlocks quantize_acts_shared(const ComputeContext& ctx, const float* x, int64_t n, int64_t x_stride, int64_t cols) {
  const ActBlocks acts = act_scratch(n, cols);
  ctx.parallel_for(n, std::max<int64_t>(1, n / (ctx.num_threads() * 2)), [&](int64_t i0, int64_t i1) {
    const ActBlocks part = acts.from_row(i0, cols);
    quantize_acts_avx2(x + i0 * x_stride, i1 - i0, x_stride, cols, part);
  });
  return acts;
}

}  // namespace quant_detail

void weight_row_to_f32(const WeightView& w, int64_t r, float* dst) {
  if (w.interleave != 1) {
    thread_local std::vector<uint8_t> plain;
    plain.resize(w.row_bytes);
    q4_plain_row(w, r, plain.data());
    return dequantize_row(w.format, plain.data(), w.cols, dst);
  }
  const uint8_t* src = w.data + static_cast<size_t>(r) * w.row_bytes;
  if (w.format == WeightFormat::kF32) std::memcpy(dst, src, static_cast<size_t>(w.cols) * 4);
  else dequantize_row(w.format, src, w.cols, dst);
}

namespace {

// Rows [r0, r1) of one weight through the kernel its format and batch call for; `acts`: the
// input already quantized to int8 blocks (null when the format does not take them).
void weight_rows(const WeightView& w, int64_t r0, int64_t r1, const float* x, int64_t n, int64_t xs, float* y,
                 int64_t ys, const quant_detail::ActBlocks* acts) {
  if (w.format == WeightFormat::kF32) return f32_rows(w, r0, r1, x, n, xs, y, ys);
  if (acts) return quant_detail::int8_matmul_rows_avx2(w, r0, r1, *acts, n, y, ys);
  quant_matmul_rows(w.format, w, r0, r1, x, n, xs, y, ys);
}

// kQ8/bf16: small batches stream each weight block once through fused kernels; large batches
// widen tiles of rows and run sgemm (quant_matmul_rows picks). Prefill tiles want at least 64
// rows per task to amortise the widening.
int64_t grain_for(const ComputeContext& ctx, const WeightView& w, int64_t n, int64_t rows, bool int8) {
  if (w.format == WeightFormat::kF32 || int8 || n <= 32) return row_grain(ctx, rows);
  return std::max<int64_t>(64, row_grain(ctx, rows));
}

// parallel_for over [0, rows) in tasks that start and end on multiples of `unit` (except the
// last): interleaved kQ4 tasks then never split a group of 8 rows between two threads, each of
// which would compute the whole group.
template <class Fn>
void for_row_units(const ComputeContext& ctx, int64_t rows, int64_t grain, int64_t unit, const Fn& fn) {
  if (unit == 1) return ctx.parallel_for(rows, grain, fn);
  ctx.parallel_for((rows + unit - 1) / unit, std::max<int64_t>(1, grain / unit),
                   [&](int64_t u0, int64_t u1) { fn(u0 * unit, std::min(rows, u1 * unit)); });
}

bool takes_int8(const WeightView& w, int64_t n) {
  return w.format != WeightFormat::kF32 && quant_detail::uses_int8_acts(w.format, w.cols, n) && has_avx2_fma_f16c();
}

}  // namespace

void matmul(const ComputeContext& ctx, const WeightView& w, const float* x, int64_t n, int64_t x_stride, float* y,
            int64_t y_stride) {
  if (n <= 0 || w.rows <= 0) return;
  ctx.count_weight_bytes(w.used_row_bytes() * static_cast<uint64_t>(w.rows));
  const bool int8 = takes_int8(w, n);
  quant_detail::ActBlocks acts{};
  // Quantize the activations once rather than once per task.
  if (int8) acts = quant_detail::quantize_acts_shared(ctx, x, n, x_stride, w.cols);
  for_row_units(ctx, w.rows, grain_for(ctx, w, n, w.rows, int8), w.interleave, [&](int64_t r0, int64_t r1) {
    weight_rows(w, r0, r1, x, n, x_stride, y, y_stride, int8 ? &acts : nullptr);
  });
}

void matmul_same_input(const ComputeContext& ctx, std::span<const SameInputOut> outs, const float* x, int64_t n) {
  if (outs.empty() || n <= 0) return;
  const WeightView& w0 = outs[0].w;
  int64_t total = 0, unit = kQ4RowGroup;
  for (const auto& o : outs) {
    if (o.w.rows % kQ4RowGroup != 0) unit = 1;  // later weights' groups would straddle task bounds
    if (o.w.format != w0.format || o.w.cols != w0.cols) {  // a checkpoint of mixed dtypes: one by one
      for (const auto& p : outs) matmul(ctx, p.w, x, n, p.y);
      return;
    }
    total += o.w.rows;
  }
  for (const auto& o : outs) ctx.count_weight_bytes(o.w.used_row_bytes() * static_cast<uint64_t>(o.w.rows));
  const bool int8 = takes_int8(w0, n);
  quant_detail::ActBlocks acts{};
  if (int8) acts = quant_detail::quantize_acts_shared(ctx, x, n, w0.cols, w0.cols);
  for_row_units(ctx, total, grain_for(ctx, w0, n, total, int8), unit, [&](int64_t r0, int64_t r1) {
    int64_t base = 0;
    for (const auto& o : outs) {
      const int64_t a = std::max(r0, base) - base, b = std::min(r1, base + o.w.rows) - base;
      if (a < b) weight_rows(o.w, a, b, x, n, w0.cols, o.y, o.w.rows, int8 ? &acts : nullptr);
      base += o.w.rows;
    }
  });
}

void matmul_reference(const WeightView& w, const float* x, int64_t n, int64_t x_stride, float* y, int64_t y_stride) {
  std::vector<float> row(static_cast<size_t>(w.cols));
  for (int64_t r = 0; r < w.rows; ++r) {
    weight_row_to_f32(w, r, row.data());
    for (int64_t i = 0; i < n; ++i) {
      double acc = 0;
      for (int64_t c = 0; c < w.cols; ++c) acc += static_cast<double>(x[i * x_stride + c]) * row[c];
      y[i * y_stride + r] = static_cast<float>(acc);
    }
  }
}

}  // namespace gs::runtime
