/* SPDX-License-Identifier: MIT */
#pragma once

/* What both fuzz targets share: libFuzzer's entry point, and a check that
 * aborts, which libFuzzer reports as a crash with the input that caused it. */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond) \
        do { \
                if (!(cond)) \
                        abort(); \
        } while (0)
