// Process plumbing: titles for `ps`, closing inherited descriptors, wait statuses.
#define _GNU_SOURCE
#include "CShims.h"
#include <bsd/unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

void cshim_proctitle_init(int argc, char **argv) { setproctitle_init(argc, argv, environ); }

void cshim_set_proctitle(const char *title) { setproctitle("-%s", title); }

void cshim_closefrom(int lowfd) { closefrom(lowfd); }

int cshim_wait_status(int status, int *value) {
    if (WIFEXITED(status)) { *value = WEXITSTATUS(status); return 1; }
    if (WIFSIGNALED(status)) { *value = WTERMSIG(status); return 2; }
    *value = 0;
    return 0;
}

int cshim_set_parent_death_signal(int signal) { return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0, 0, 0); }
