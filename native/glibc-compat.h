// SPDX-License-Identifier: MIT
// Old glibc symbol versions for the prebuilt binaries (SDACT_PREBUILD=1, see
// scripts/detect-libsystemd.js and docs/building.md "Prebuilt binaries").
//
// Force-included (-include) into every translation unit of a prebuild. A
// binary built against Debian 12's glibc 2.36 binds each libc function to the
// newest version of it: dlopen/dlsym/pthread_create@GLIBC_2.34 (they moved
// from libdl/libpthread into libc), fstat/lstat@GLIBC_2.33, fcntl64@GLIBC_2.28.
// The floors are GLIBC_2.28 on x86-64 (what Node 20 itself needs) and
// GLIBC_2.17 on arm64 (the first glibc for that architecture), so every
// reference is pinned here to the version those functions had at the floor;
// they are the same functions (compat symbols glibc keeps forever), and
// `readelf -V` on each prebuild checks the result in CI
// (scripts/check-prebuilds.js). Source builds do not use this header.
#ifndef SDACT_GLIBC_COMPAT_H
#define SDACT_GLIBC_COMPAT_H

#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>

#if defined(__linux__) && defined(__GLIBC__)

#if defined(__x86_64__)
#define SDACT_GLIBC_BASE "GLIBC_2.2.5"
#define SDACT_GLIBC_DLINFO "GLIBC_2.3.3"
#define SDACT_STAT_VER 1 /* _STAT_VER_LINUX on x86-64 */
#elif defined(__aarch64__)
#define SDACT_GLIBC_BASE "GLIBC_2.17"
#define SDACT_GLIBC_DLINFO "GLIBC_2.17"
#define SDACT_STAT_VER 0 /* _STAT_VER_KERNEL on aarch64 */
#else
#error "glibc-compat.h: prebuilds are made for x86-64 and aarch64 only"
#endif

#define SDACT_PIN(sym, ver) __asm__(".symver " #sym "," #sym "@" ver)

SDACT_PIN(dlopen, SDACT_GLIBC_BASE);
SDACT_PIN(dlsym, SDACT_GLIBC_BASE);
SDACT_PIN(dlclose, SDACT_GLIBC_BASE);
SDACT_PIN(dlerror, SDACT_GLIBC_BASE);
SDACT_PIN(dlinfo, SDACT_GLIBC_DLINFO);
SDACT_PIN(pthread_create, SDACT_GLIBC_BASE);
SDACT_PIN(pthread_join, SDACT_GLIBC_BASE);
SDACT_PIN(pthread_detach, SDACT_GLIBC_BASE);
// fcntl: glibc >= 2.28 headers call fcntl64; on 64-bit targets both are the
// same function, and plain `fcntl` exists at the base version.
#undef fcntl
__asm__(".symver sdact_fcntl_base,fcntl@" SDACT_GLIBC_BASE);
extern "C" int sdact_fcntl_base(int, int, ...);
#define fcntl sdact_fcntl_base

// fstat/lstat became real exported functions in glibc 2.33; before, the
// headers called __fxstat/__lxstat with a structure version, which glibc
// still exports for binaries built then.
extern "C" int __fxstat(int, int, struct stat*);
extern "C" int __lxstat(int, const char*, struct stat*);
SDACT_PIN(__fxstat, SDACT_GLIBC_BASE);
SDACT_PIN(__lxstat, SDACT_GLIBC_BASE);
static inline int sdact_fstat(int fd, struct stat* st) { return __fxstat(SDACT_STAT_VER, fd, st); }
static inline int sdact_lstat(const char* p, struct stat* st) { return __lxstat(SDACT_STAT_VER, p, st); }
#define fstat(fd, st) sdact_fstat(fd, st)
#define lstat(p, st) sdact_lstat(p, st)

#undef SDACT_PIN
#endif  // __linux__ && __GLIBC__
#endif  // SDACT_GLIBC_COMPAT_H
