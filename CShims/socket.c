// Socket calls Swift's Glibc module hides behind _GNU_SOURCE.
#define _GNU_SOURCE
#include "CShims.h"
#include <sys/socket.h>

int cshim_accept_nonblocking(int listener, void *address, unsigned int *length) {
    return accept4(listener, (struct sockaddr *)address, (socklen_t *)length, SOCK_NONBLOCK | SOCK_CLOEXEC);
}
