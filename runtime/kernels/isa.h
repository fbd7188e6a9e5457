// Which SIMD extensions this CPU has, detected once at run time. Kernels compiled with -mavx2
// live in *_avx2.cpp files and are only called when avx2_fma_f16c() holds, so one binary runs
// on any x86-64 (and falls back to scalar code elsewhere).
#pragma once

namespace gs::runtime {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
};

// Detected on first call (thread-safe static); GS_KERNELS=scalar in the environment forces the
// portable paths, to compare or to work around a bad kernel in the field.
const CpuFeatures& cpu_features();

// The AVX2 kernels need all three.
inline bool has_avx2_fma_f16c() {
  const CpuFeatures& f = cpu_features();
  return f.avx2 && f.fma && f.f16c;
}

}  // namespace gs::runtime
