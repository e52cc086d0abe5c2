// Signals as a readable descriptor (the self-pipe trick): a poll loop wakes up when a
// child exits or when the process is told to stop, and handles it outside the handler.
// Also PR_SET_CHILD_SUBREAPER, so orphaned grandchildren can be reaped.
#define _GNU_SOURCE
#include "CShims.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

// Written only by the signal handler; set once before the handler is installed.
static int signal_pipe[2] = { -1, -1 };

static void on_signal(int sig) {
    int saved = errno;
    unsigned char byte = (unsigned char)sig;
    (void)!write(signal_pipe[1], &byte, 1);  // a full pipe already means "wake up"
    errno = saved;
}

int cshim_signal_pipe(void) {
    if (signal_pipe[0] >= 0) return signal_pipe[0];
    if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return -1;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    const int signals[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        if (sigaction(signals[i], &action, NULL) != 0) return -1;
    }
    return signal_pipe[0];
}

int cshim_set_child_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }
