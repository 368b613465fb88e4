/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * System calls made without errno and without libc, for a child of
 * clone(CLONE_VM) that runs beside its parent on the parent's memory and
 * thread pointer: glibc's wrappers would write the parent thread's errno
 * (which the parent may be about to read) and some take locks. Each returns
 * what the kernel returns: a value >= 0, or -errno. Where no native call is
 * written (RAWSYS_NATIVE 0) they go through libc's syscall(), errno and all,
 * and a child must not run beside its parent (spawn.c waits as vfork does).
 */

#include <sys/syscall.h>

#if defined(__x86_64__)
#define RAWSYS_NATIVE 1
static inline long rawsys6(long nr, long a, long b, long c, long d, long e, long f) {
        long ret;
        register long r10 __asm__("r10") = d;
        register long r8 __asm__("r8") = e;
        register long r9 __asm__("r9") = f;

        __asm__ volatile("syscall"
                         : "=a"(ret)
                         : "0"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                         : "rcx", "r11", "memory");
        return ret;
}
#elif defined(__aarch64__)
#define RAWSYS_NATIVE 1
static inline long rawsys6(long nr, long a, long b, long c, long d, long e, long f) {
        register long x8 __asm__("x8") = nr;
        register long x0 __asm__("x0") = a;
        register long x1 __asm__("x1") = b;
        register long x2 __asm__("x2") = c;
        register long x3 __asm__("x3") = d;
        register long x4 __asm__("x4") = e;
        register long x5 __asm__("x5") = f;

        __asm__ volatile("svc #0"
                         : "+r"(x0)
                         : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                         : "memory");
        return x0;
}
#else
#define RAWSYS_NATIVE 0
#include <errno.h>
#include <unistd.h>
static inline long rawsys6(long nr, long a, long b, long c, long d, long e, long f) {
        long ret = syscall(nr, a, b, c, d, e, f);

        return ret < 0 ? -errno : ret;
}
#endif

/* The arguments as longs, the missing ones 0. */
#define RAWSYS(nr, a, b, c) rawsys6((long) (nr), (long) (a), (long) (b), (long) (c), 0, 0, 0)
#define RAWSYS5(nr, a, b, c, d, e) \
        rawsys6((long) (nr), (long) (a), (long) (b), (long) (c), (long) (d), (long) (e), 0)
