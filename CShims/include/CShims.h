// CShims: thin, named wrappers over what Swift cannot call safely or at all.
// No policy lives here: every decision is made by the Swift caller.
#ifndef CSHIMS_H
#define CSHIMS_H

#include <stddef.h>
#include <sys/types.h>
// Linux interfaces Swift's Glibc module leaves out.
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/sendfile.h>

/// Sends `count` file descriptors and `len` bytes of `payload` over the Unix
/// socket `sock` in one SCM_RIGHTS message. Returns bytes sent or -1 (errno set).
ssize_t cshim_send_fds(int sock, const int *fds, int count, const void *payload, size_t len);

/// Receives up to `max_fds` descriptors (stored in `fds`, count in `*count`) and up to
/// `len` bytes into `payload`. Received descriptors are close-on-exec.
/// Returns bytes received (0 on EOF) or -1 (errno set).
ssize_t cshim_recv_fds(int sock, int *fds, int max_fds, int *count, void *payload, size_t len);

/// splice(2) of up to `len` bytes from `from` to `to` (one of them a pipe), never
/// blocking on the pipe (SPLICE_F_NONBLOCK | SPLICE_F_MOVE). Returns bytes moved,
/// 0 at end of file, or -1 (errno set; EAGAIN when nothing can move now).
ssize_t cshim_splice(int from, int to, size_t len);

/// pipe2(O_NONBLOCK | O_CLOEXEC). Returns 0 or -1.
int cshim_pipe_nonblocking(int fds[2]);

/// The pipe's buffer size (F_GETPIPE_SZ), or -1.
int cshim_pipe_capacity(int fd);

/// Prepares the process title area (libbsd's setproctitle_init) from main's argv.
void cshim_proctitle_init(int argc, char **argv);

/// Sets the title `ps` shows for this process, e.g. "converge: session ID".
void cshim_set_proctitle(const char *title);

/// Closes every descriptor >= lowfd (libbsd/glibc closefrom).
void cshim_closefrom(int lowfd);

/// prctl(PR_SET_PDEATHSIG): `signal` arrives when the parent process ends. Returns 0 or -1.
int cshim_set_parent_death_signal(int signal);

/// Decodes a waitpid status: returns 1 and the code if it exited, 2 and the signal if killed, 0 otherwise.
int cshim_wait_status(int status, int *value);

/// Size of the build stamp record (`.converge_build` section, see build_stamp.c).
#define CSHIM_BUILD_STAMP_SIZE 128

/// "VERSION COMMIT" as `make dist` stamped it, or "0.0.0-dev unknown".
const char *cshim_build_stamp(void);



#include <stdint.h>

// ---- Child processes (pty.c, signals.c) ---------------------------------------------
// The child of fork runs only this C code until execve: no Swift, no allocation.
// argv and envp are prepared by the caller before the fork.

/// forkpty(3) with the given window size, then in the child: reset signal dispositions
/// and mask, closefrom(3), execve(path, argv, envp). The child is a session leader with
/// the pty as controlling terminal (its process group id is its pid).
/// Returns the child pid and stores the close-on-exec master fd in `*master`, or -1.
pid_t cshim_spawn_pty(const char *path, char *const argv[], char *const envp[],
                      unsigned short rows, unsigned short cols,
                      unsigned short xpixel, unsigned short ypixel, int *master);

/// fork + execve with stdin, stdout and stderr on three pipes; the child calls setsid()
/// so the caller can signal its whole process group. The parent's ends are close-on-exec.
/// Returns the child pid or -1 (errno set).
pid_t cshim_spawn_pipes(const char *path, char *const argv[], char *const envp[],
                        int *stdin_fd, int *stdout_fd, int *stderr_fd);

/// fork(2) for a child that keeps running this (single-threaded) program. In the child:
/// setsid(), default signal dispositions, empty signal mask. Returns like fork.
pid_t cshim_fork_session_leader(void);

/// Sets the window size of a pty (ioctl TIOCSWINSZ on the master).
int cshim_set_winsize(int fd, unsigned short rows, unsigned short cols,
                      unsigned short xpixel, unsigned short ypixel);

/// Installs (once) handlers for SIGCHLD, SIGTERM, SIGINT and SIGHUP that write the
/// signal number as one byte to a non-blocking self-pipe; returns the pipe's read end
/// (close-on-exec), or -1. Poll it, read the bytes, act outside the handler.
int cshim_signal_pipe(void);

/// prctl(PR_SET_CHILD_SUBREAPER): orphaned descendants are reparented to this process,
/// so it can reap them instead of leaving zombies under a non-reaping PID 1.
int cshim_set_child_subreaper(void);

// ---- libssh callbacks (ssh_callbacks.c) ---------------------------------------------
// libssh calls C function pointers with a userdata pointer. These tables carry Swift
// @convention(c) functions plus the context they receive first; the shim allocates the
// libssh callback structs (which must outlive the session or channel) and trampolines.
// libssh handles are passed as void * (ssh_session, ssh_channel, ssh_key, ssh_message).

typedef struct cshim_ssh_server_handlers {
    void *context;
    /// SSH_AUTH_SUCCESS / SSH_AUTH_DENIED.
    int (*auth_password)(void *context, const char *user, const char *password);
    /// signature_state is SSH_PUBLICKEY_STATE_NONE (probe), _VALID, _WRONG or _ERROR.
    int (*auth_pubkey)(void *context, const char *user, void *key, int signature_state);
    /// Returns a new ssh_channel for a "session" channel open, or NULL to refuse.
    void *(*open_session_channel)(void *context);
    /// Every message no callback above handled (direct-tcpip opens, global requests...):
    /// return 0 when answered, 1 to let libssh send its default (refusing) reply.
    int (*message)(void *context, void *message);
    /// The "none" method (OpenSSH tries it first): SSH_AUTH_SUCCESS lets the client in
    /// without credentials (the jump host), NULL leaves it unset (refused).
    int (*auth_none)(void *context, const char *user);
} cshim_ssh_server_handlers;

/// Installs server callbacks and the message callback on `session`; returns the
/// allocation to free with cshim_ssh_free_server_callbacks after ssh_free, or NULL.
void *cshim_ssh_install_server_callbacks(void *session, const cshim_ssh_server_handlers *handlers);
void cshim_ssh_free_server_callbacks(void *installed);

/// Channel handlers; a NULL function leaves that callback unset (libssh then refuses
/// the request). Requests return 0 to accept, non-zero to refuse.
typedef struct cshim_ssh_channel_handlers {
    void *context;
    /// Returns how many bytes were consumed; libssh keeps the rest (and shrinks the window).
    int (*data)(void *context, void *data, uint32_t len, int is_stderr);
    void (*eof)(void *context);
    void (*close)(void *context);
    void (*signal)(void *context, const char *name);
    int (*pty_request)(void *context, const char *term, int cols, int rows, int xpixel, int ypixel);
    int (*pty_window_change)(void *context, int cols, int rows, int xpixel, int ypixel);
    int (*shell_request)(void *context);
    int (*exec_request)(void *context, const char *command);
    int (*env_request)(void *context, const char *name, const char *value);
    int (*subsystem_request)(void *context, const char *subsystem);
} cshim_ssh_channel_handlers;

/// Installs channel callbacks; returns the allocation for cshim_ssh_remove_channel_callbacks.
void *cshim_ssh_install_channel_callbacks(void *channel, const cshim_ssh_channel_handlers *handlers);
/// Detaches the callbacks from `channel` (if not NULL) and frees the allocation.
void cshim_ssh_remove_channel_callbacks(void *channel, void *installed);

#endif
