// The version and commit a build reports: a fixed-size record in a section of its own,
// which `make dist` overwrites in the finished binaries (scripts/stamp-build.sh, with
// objcopy), so stamping a new commit rebuilds nothing. Other builds keep the placeholder.
#include "CShims.h"

__attribute__((section(".converge_build"), used))
static char build_stamp[CSHIM_BUILD_STAMP_SIZE] = "0.0.0-dev unknown";

const char *cshim_build_stamp(void) {
    // The last byte stays NUL whatever was written over the section.
    build_stamp[CSHIM_BUILD_STAMP_SIZE - 1] = 0;
    return build_stamp;
}
