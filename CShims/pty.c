// Spawning shells and commands for SSH channels. The child of fork runs only this C
// code until execve (forking a Swift process and running Swift in the child is unsafe):
// set up stdio or the terminal, reset signals, close inherited descriptors, exec.
#define _GNU_SOURCE
#include "CShims.h"
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

// The parent ignores SIGPIPE and catches SIGCHLD; a child must start with defaults.
static void reset_signals(void) {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        (void)sigaction(sig, &dfl, NULL);  // fails harmlessly for reserved signals
    }
    sigset_t none;
    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);
}

// Only async-signal-safe calls from here on: the child of fork.
static void exec_or_die(const char *path, char *const argv[], char *const envp[]) {
    reset_signals();
    closefrom(3);
    execve(path, argv, envp);
    static const char prefix[] = "converge: cannot execute ";
    (void)!write(2, prefix, sizeof prefix - 1);
    (void)!write(2, path, strlen(path));
    (void)!write(2, "\n", 1);
    _exit(127);
}

pid_t cshim_spawn_pty(const char *path, char *const argv[], char *const envp[],
                      unsigned short rows, unsigned short cols,
                      unsigned short xpixel, unsigned short ypixel, int *master) {
    struct winsize size = { .ws_row = rows, .ws_col = cols, .ws_xpixel = xpixel, .ws_ypixel = ypixel };
    int fd = -1;
    pid_t pid = forkpty(&fd, NULL, NULL, &size);
    if (pid < 0) return -1;
    if (pid == 0) exec_or_die(path, argv, envp);  // session leader, pty is stdin/out/err
    (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    *master = fd;
    return pid;
}

pid_t cshim_spawn_pipes(const char *path, char *const argv[], char *const envp[],
                        int *stdin_fd, int *stdout_fd, int *stderr_fd) {
    int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
        int saved = errno;
        for (int i = 0; i < 2; i++) {
            if (in[i] >= 0) close(in[i]);
            if (out[i] >= 0) close(out[i]);
            if (err[i] >= 0) close(err[i]);
        }
        errno = saved;
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        int saved = errno;
        close(in[0]); close(in[1]); close(out[0]); close(out[1]); close(err[0]); close(err[1]);
        errno = saved;
        return -1;
    }
    if (pid == 0) {
        (void)setsid();  // own process group: the parent kills the whole group at the end
        // dup2 clears close-on-exec on 0, 1, 2; closefrom(3) drops everything else.
        if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0) _exit(127);
        exec_or_die(path, argv, envp);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    *stdin_fd = in[1];
    *stdout_fd = out[0];
    *stderr_fd = err[0];
    return pid;
}

pid_t cshim_fork_session_leader(void) {
    pid_t pid = fork();
    if (pid == 0) {
        (void)setsid();
        reset_signals();
    }
    return pid;
}

int cshim_set_winsize(int fd, unsigned short rows, unsigned short cols,
                      unsigned short xpixel, unsigned short ypixel) {
    struct winsize size = { .ws_row = rows, .ws_col = cols, .ws_xpixel = xpixel, .ws_ypixel = ypixel };
    return ioctl(fd, TIOCSWINSZ, &size);
}
