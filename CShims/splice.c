// splice(2) and non-blocking pipes: GNU interfaces Swift's Glibc module leaves out.
#define _GNU_SOURCE
#include "CShims.h"
#include <fcntl.h>
#include <unistd.h>

ssize_t cshim_splice(int from, int to, size_t len) {
    return splice(from, NULL, to, NULL, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
}

int cshim_pipe_nonblocking(int fds[2]) { return pipe2(fds, O_NONBLOCK | O_CLOEXEC); }

int cshim_pipe_capacity(int fd) { return fcntl(fd, F_GETPIPE_SZ); }
