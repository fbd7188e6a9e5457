#include "runtime/kernels/isa.h"

#include <cstdlib>
#include <cstring>

namespace gs::runtime {
namespace {

CpuFeatures detect() {
  CpuFeatures f;
  const char* forced = std::getenv("GS_KERNELS");
  if (forced != nullptr && std::strcmp(forced, "scalar") == 0) return f;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  f.f16c = __builtin_cpu_supports("f16c");
#endif
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

}  // namespace gs::runtime
