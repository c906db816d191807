// What the CPU running us can do beyond the build's target (x86-64-v3: AVX2). Hot loops that
// gain from wider vectors carry a second version compiled for them and pick it at run time.
#pragma once

namespace sitepulse {

// AVX-512 F and BW (Zen 4 and later, Intel Skylake-SP and later). Tests may turn it off to run
// the AVX2 versions on a machine that has it.
namespace cpu_internal {
extern bool use_avx512;
}  // namespace cpu_internal
inline bool UseAvx512() { return cpu_internal::use_avx512; }
void SetUseAvx512ForTesting(bool on);

}  // namespace sitepulse
