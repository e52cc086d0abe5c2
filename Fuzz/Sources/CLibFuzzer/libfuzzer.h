// libFuzzer's entry for programs that have their own main (in every libFuzzer since
// LLVM 13; linked by -sanitize=fuzzer).
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*testOneInput)(const uint8_t *data, size_t size));
