// Passing sockets between processes with SCM_RIGHTS (the master hands paired
// connections to a splice worker this way).
#define _GNU_SOURCE
#include "CShims.h"
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

enum { CSHIM_MAX_FDS = 8 };

ssize_t cshim_send_fds(int sock, const int *fds, int count, const void *payload, size_t len) {
    if (count < 0 || count > CSHIM_MAX_FDS || len == 0) { errno = EINVAL; return -1; }
    char control[CMSG_SPACE(sizeof(int) * CSHIM_MAX_FDS)];
    memset(control, 0, sizeof control);
    struct iovec iov = { .iov_base = (void *)payload, .iov_len = len };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (count > 0) {
        msg.msg_control = control;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)count);
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)count);
        memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * (size_t)count);
    }
    ssize_t n;
    do { n = sendmsg(sock, &msg, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
    return n;
}

ssize_t cshim_recv_fds(int sock, int *fds, int max_fds, int *count, void *payload, size_t len) {
    *count = 0;
    if (max_fds < 0 || max_fds > CSHIM_MAX_FDS) { errno = EINVAL; return -1; }
    char control[CMSG_SPACE(sizeof(int) * CSHIM_MAX_FDS)];
    struct iovec iov = { .iov_base = payload, .iov_len = len };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = control, .msg_controllen = sizeof control };
    ssize_t n;
    do { n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); } while (n < 0 && errno == EINTR);
    if (n < 0) return n;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        int got = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int *in = (int *)CMSG_DATA(c);
        for (int i = 0; i < got; i++) {
            if (*count < max_fds) fds[(*count)++] = in[i];
            else close(in[i]);  // more than the caller asked for: never leak them
        }
    }
    return n;
}
