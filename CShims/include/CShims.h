// CShims: thin, named wrappers over what Swift cannot call safely or at all.
// No policy lives here: every decision is made by the Swift caller.
#ifndef CSHIMS_H
#define CSHIMS_H

#include <stddef.h>
#include <sys/types.h>

/// Sends `count` file descriptors and `len` bytes of `payload` over the Unix
/// socket `sock` in one SCM_RIGHTS message. Returns bytes sent or -1 (errno set).
ssize_t cshim_send_fds(int sock, const int *fds, int count, const void *payload, size_t len);

/// Receives up to `max_fds` descriptors (stored in `fds`, count in `*count`) and up to
/// `len` bytes into `payload`. Received descriptors are close-on-exec.
/// Returns bytes received (0 on EOF) or -1 (errno set).
ssize_t cshim_recv_fds(int sock, int *fds, int max_fds, int *count, void *payload, size_t len);

/// Prepares the process title area (libbsd's setproctitle_init) from main's argv.
void cshim_proctitle_init(int argc, char **argv);

/// Sets the title `ps` shows for this process, e.g. "converge: session ID".
void cshim_set_proctitle(const char *title);

/// Closes every descriptor >= lowfd (libbsd/glibc closefrom).
void cshim_closefrom(int lowfd);

/// Decodes a waitpid status: returns 1 and the code if it exited, 2 and the signal if killed, 0 otherwise.
int cshim_wait_status(int status, int *value);

#endif
