// SP_DCHECK(cond, message): a cheap invariant at a boundary between stages (a lane's delta, the
// coordinator's sequence, an engine's bucket order). Checked in debug and sanitizer builds
// (no NDEBUG, or SITEPULSE_DCHECK=1 as the asan and tsan presets set); compiled out of Release,
// where the condition is not even evaluated. A failed check prints file, line, the condition
// and the message, and aborts: a broken invariant is a bug to fix, not input to count.
#pragma once

#include <cstdio>
#include <cstdlib>

#if !defined(NDEBUG) || (defined(SITEPULSE_DCHECK) && SITEPULSE_DCHECK)
#define SP_DCHECK_IS_ON 1
#define SP_DCHECK(cond, message)                                                     \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      std::fprintf(stderr, "sitepulse: check failed at %s:%d: %s (%s)\n", __FILE__, \
                   __LINE__, #cond, message);                                        \
      std::abort();                                                                  \
    }                                                                                \
  } while (0)
#else
#define SP_DCHECK_IS_ON 0
#define SP_DCHECK(cond, message) \
  do {                           \
    if (false && (cond)) {       \
    }                            \
  } while (0)
#endif
