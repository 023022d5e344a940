#ifndef ZABBIX_TEE_CLIBFUZZER_H
#define ZABBIX_TEE_CLIBFUZZER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (compiler-rt, LLVM 12+), linked by `-sanitize=fuzzer`. Declared here so
/// the fuzz targets can start libFuzzer from their own `main`: SwiftPM renames an executable's
/// entry point and aliases `main` to it, so libFuzzer's own `main` is never linked.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));

#endif
