/* SPDX-License-Identifier: MIT */
/*
 * LD_PRELOAD for nbnetd and nbnet-handler under valgrind only (tests/valgrind.bats).
 * Valgrind 3.19 (Debian 12's) does not know pidfd_open(2) and pidfd_send_signal(2)
 * and fails them with ENOSYS, so spawn_command() could never hand back a child.
 * This syscall() runs those two on the real CPU (VALGRIND_NON_SIMD_CALL), where
 * the kernel has them; everything else, and everything outside valgrind, goes
 * to libc's syscall() unchanged. Memcheck still sees every other access.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <valgrind/valgrind.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

long syscall(long number, ...);

/* Runs natively, outside the guest: a raw syscall, no libc, no errno (no TLS). */
static unsigned long native_syscall4(unsigned long tid, unsigned long args, unsigned long unused) {
        const long *a = (const long *) args;
        long ret = -ENOSYS;
        (void) tid;
        (void) unused;
#if defined(__x86_64__)
        register long r10 __asm__("r10") = a[4];
        __asm__ volatile("syscall"
                         : "=a"(ret)
                         : "a"(a[0]), "D"(a[1]), "S"(a[2]), "d"(a[3]), "r"(r10)
                         : "rcx", "r11", "memory");
#else
        (void) a;
#endif
        return (unsigned long) ret;
}

long syscall(long number, ...) {
        static long (*real)(long, ...);
        long a[6];
        va_list ap;

        va_start(ap, number);
        for (int i = 0; i < 6; i++)
                a[i] = va_arg(ap, long);
        va_end(ap);
        if (RUNNING_ON_VALGRIND && (number == SYS_pidfd_open || number == SYS_pidfd_send_signal)) {
                long args[5] = {number, a[0], a[1], a[2], a[3]};
                long r = (long) VALGRIND_NON_SIMD_CALL2(native_syscall4, (unsigned long) args, 0);
                if (r < 0 && r > -4096) {
                        errno = (int) -r;
                        return -1;
                }
                return r;
        }
        if (!real)
                real = (long (*)(long, ...)) dlsym(RTLD_NEXT, "syscall");
        return real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
