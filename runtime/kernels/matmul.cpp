#include "runtime/kernels/matmul.h"

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
  switch (f) {
    case WeightFormat::kF32: return static_cast<size_t>(cols) * 4;
    case WeightFormat::kBF16: return static_cast<size_t>(cols) * 2;
    case WeightFormat::kQ8:
    case WeightFormat::kQ4: break;
  }
  throw std::invalid_argument("quantized formats are not available yet");
}

// Rows of W per parallel task: big enough to amortise scheduling, small enough to balance.
int64_t row_grain(const ComputeContext& ctx, int64_t rows) {
  const int64_t tasks = static_cast<int64_t>(ctx.num_threads()) * 4;
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

// Large batches of a non-f32 format: widen a tile of rows to f32 once, then one sgemm for all n.
void widened_rows(const WeightView& w, int64_t r0, int64_t r1, const float* x, int64_t n, int64_t xs, float* y,
                  int64_t ys) {
  constexpr int64_t kTile = 64;
  thread_local std::vector<float> tile;
  tile.resize(static_cast<size_t>(kTile * w.cols));
  for (int64_t t0 = r0; t0 < r1; t0 += kTile) {
    const int64_t t1 = std::min(r1, t0 + kTile);
    for (int64_t r = t0; r < t1; ++r) weight_row_to_f32(w, r, tile.data() + (r - t0) * w.cols);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n), static_cast<int>(t1 - t0),
                static_cast<int>(w.cols), 1.f, x, static_cast<int>(xs), tile.data(), static_cast<int>(w.cols), 0.f,
                y + t0, static_cast<int>(ys));
  }
}

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

WeightView WeightView::first_rows(int64_t n) const {
  WeightView v = *this;
  v.rows = std::min(n, rows);
  return v;
}

WeightView WeightView::first_cols(int64_t n) const {
  WeightView v = *this;
  if ((format == WeightFormat::kQ8 || format == WeightFormat::kQ4) && n % 32 != 0)
    throw std::invalid_argument("quantized column slices must be multiples of 32");
  v.cols = std::min(n, cols);
  return v;
}

void OwnedWeight::Free::operator()(uint8_t* p) const { std::free(p); }

OwnedWeight OwnedWeight::from_f32(const float* data, int64_t rows, int64_t cols, WeightFormat format) {
  if ((format == WeightFormat::kQ8 || format == WeightFormat::kQ4) && cols % 32 != 0) format = WeightFormat::kF32;
  OwnedWeight o;
  const size_t rb = row_bytes_for(format, cols);
  o.size_ = rb * static_cast<size_t>(rows);
  const size_t alloc = std::max<size_t>(64, (o.size_ + 63) / 64 * 64);
  o.storage_.reset(static_cast<uint8_t*>(std::aligned_alloc(64, alloc)));
  if (!o.storage_) throw std::bad_alloc();
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t* dst = o.storage_.get() + static_cast<size_t>(r) * rb;
    const float* src = data + r * cols;
    switch (format) {
      case WeightFormat::kF32: std::memcpy(dst, src, rb); break;
      case WeightFormat::kBF16: {
        auto* d = reinterpret_cast<uint16_t*>(dst);
        for (int64_t c = 0; c < cols; ++c) d[c] = f32_to_bf16(src[c]);
        break;
      }
      default: throw std::invalid_argument("quantized formats are not available yet");
    }
  }
  o.view_ = WeightView{format, rows, cols, rb, o.storage_.get()};
  return o;
}

OwnedWeight OwnedWeight::from_tensor(const TensorRef& t, WeightFormat format) {
  const int64_t rows = t.shape.empty() ? 1 : t.shape[0];
  const int64_t cols = rows == 0 ? 0 : t.numel() / std::max<int64_t>(rows, 1);
  if (format == WeightFormat::kBF16 && t.dtype == DType::kBF16) {  // as shipped: a plain copy
    OwnedWeight o;
    o.size_ = t.nbytes;
    o.storage_.reset(static_cast<uint8_t*>(std::aligned_alloc(64, std::max<size_t>(64, (t.nbytes + 63) / 64 * 64))));
    if (!o.storage_) throw std::bad_alloc();
    std::memcpy(o.storage_.get(), t.data, t.nbytes);
    o.view_ = WeightView{format, rows, cols, static_cast<size_t>(cols) * 2, o.storage_.get()};
    return o;
  }
  // Convert in row blocks so a 2 GB tensor never needs a full f32 copy.
  OwnedWeight o;
  const WeightFormat f = ((format == WeightFormat::kQ8 || format == WeightFormat::kQ4) && cols % 32 != 0)
                             ? WeightFormat::kF32 : format;
  const size_t rb = row_bytes_for(f, cols);
  o.size_ = rb * static_cast<size_t>(rows);
  o.storage_.reset(static_cast<uint8_t*>(std::aligned_alloc(64, std::max<size_t>(64, (o.size_ + 63) / 64 * 64))));
  if (!o.storage_) throw std::bad_alloc();
  std::vector<float> row(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    t.rows_to_f32(r, 1, 0, cols, row.data());
    uint8_t* dst = o.storage_.get() + static_cast<size_t>(r) * rb;
    switch (f) {
      case WeightFormat::kF32: std::memcpy(dst, row.data(), rb); break;
      case WeightFormat::kBF16: {
        auto* d = reinterpret_cast<uint16_t*>(dst);
        for (int64_t c = 0; c < cols; ++c) d[c] = f32_to_bf16(row[c]);
        break;
      }
      default: throw std::invalid_argument("quantized formats are not available yet");
    }
  }
  o.view_ = WeightView{f, rows, cols, rb, o.storage_.get()};
  return o;
}

void weight_row_to_f32(const WeightView& w, int64_t r, float* dst) {
  const uint8_t* src = w.data + static_cast<size_t>(r) * w.row_bytes;
  switch (w.format) {
    case WeightFormat::kF32: std::memcpy(dst, src, static_cast<size_t>(w.cols) * 4); break;
    case WeightFormat::kBF16: convert_to_f32(DType::kBF16, src, static_cast<size_t>(w.cols), dst); break;
    default: throw std::invalid_argument("quantized formats are not available yet");
  }
}

void matmul(const ComputeContext& ctx, const WeightView& w, const float* x, int64_t n, int64_t x_stride, float* y,
            int64_t y_stride) {
  if (n <= 0 || w.rows <= 0) return;
  const bool f32 = w.format == WeightFormat::kF32;
  // Small batches of a packed format stream the weights once through the fused kernels; large
  // batches widen tiles and use sgemm (compute-bound, the widening is amortised over n rows).
  
  ctx.parallel_for(w.rows, row_grain(ctx, w.rows), [&](int64_t r0, int64_t r1) {
    if (f32) f32_rows(w, r0, r1, x, n, x_stride, y, y_stride);
        else widened_rows(w, r0, r1, x, n, x_stride, y, y_stride);
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
