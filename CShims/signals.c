// SIGCHLD as a readable descriptor (the self-pipe trick), so a poll loop wakes up when
// a child exits, and PR_SET_CHILD_SUBREAPER so orphaned grandchildren can be reaped.
#define _GNU_SOURCE
#include "CShims.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

// Written only by the signal handler; set once before the handler is installed.
static int sigchld_pipe[2] = { -1, -1 };

static void on_sigchld(int sig) {
    (void)sig;
    int saved = errno;
    (void)!write(sigchld_pipe[1], "x", 1);  // a full pipe already means "wake up"
    errno = saved;
}

int cshim_sigchld_fd(void) {
    if (sigchld_pipe[0] >= 0) return sigchld_pipe[0];
    if (pipe2(sigchld_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return -1;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_sigchld;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    if (sigaction(SIGCHLD, &action, NULL) != 0) return -1;
    return sigchld_pipe[0];
}

int cshim_set_child_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }
