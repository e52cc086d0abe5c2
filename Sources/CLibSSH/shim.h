// The server half of libssh is only declared when WITH_SERVER is set.
#define WITH_SERVER 1
#include <libssh/libssh.h>
#include <libssh/server.h>
#include <libssh/callbacks.h>
#include <libssh/sftp.h>
