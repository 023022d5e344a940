#ifndef ZABBIX_TEE_CLIBFUZZER_H
#define ZABBIX_TEE_CLIBFUZZER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (compiler-rt, LLVM 12+), linked by `-sanitize=fuzzer`. Declared here so
/// the fuzz targets can start libFuzzer from their own `main`: SwiftPM renames an executable's
/// entry point and aliases `main` to it, so libFuzzer's own `main` is never linked.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));

/// Starts counting the heap bytes in use, through AddressSanitizer's malloc/free hooks. Returns 1
/// when it counts (an ASan build), 0 otherwise (then the functions below return 0).
int fuzz_allocations_start(void);
/// Heap bytes in use now (allocated and not yet freed since counting started).
size_t fuzz_allocations_live(void);
/// The most heap bytes in use since the last `fuzz_allocations_reset_peak`.
size_t fuzz_allocations_peak(void);
/// Makes the current use the peak.
void fuzz_allocations_reset_peak(void);

#endif
