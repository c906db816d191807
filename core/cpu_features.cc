#include "core/cpu_features.h"

namespace sitepulse {
namespace {

bool Detect() {
#if defined(__x86_64__) && defined(__GNUC__)
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
#else
  return false;
#endif
}

}  // namespace

namespace cpu_internal {
// Set before main; a static initializer that read it earlier would get AVX2, which is correct.
bool use_avx512 = Detect();
}  // namespace cpu_internal

void SetUseAvx512ForTesting(bool on) { cpu_internal::use_avx512 = on && Detect(); }

}  // namespace sitepulse
