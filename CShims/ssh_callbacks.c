// libssh server and channel callback tables whose entries trampoline into Swift.
// libssh keeps a pointer to each callbacks struct, so they live on the heap until the
// session or channel is gone. No decisions here: each trampoline forwards its arguments.
#define WITH_SERVER 1
#include "CShims.h"
#include <libssh/libssh.h>
#include <libssh/server.h>
#include <libssh/callbacks.h>
#include <stdlib.h>

struct server_installation {
    struct ssh_server_callbacks_struct callbacks;
    cshim_ssh_server_handlers handlers;
};

static int server_auth_password(ssh_session session, const char *user, const char *password, void *userdata) {
    (void)session;
    cshim_ssh_server_handlers *h = &((struct server_installation *)userdata)->handlers;
    return h->auth_password(h->context, user, password);
}

static int server_auth_pubkey(ssh_session session, const char *user, struct ssh_key_struct *key,
                              char signature_state, void *userdata) {
    (void)session;
    cshim_ssh_server_handlers *h = &((struct server_installation *)userdata)->handlers;
    return h->auth_pubkey(h->context, user, key, (int)signature_state);
}

static int server_auth_none(ssh_session session, const char *user, void *userdata) {
    (void)session;
    cshim_ssh_server_handlers *h = &((struct server_installation *)userdata)->handlers;
    return h->auth_none(h->context, user);
}

static ssh_channel server_open_session(ssh_session session, void *userdata) {
    (void)session;
    cshim_ssh_server_handlers *h = &((struct server_installation *)userdata)->handlers;
    return (ssh_channel)h->open_session_channel(h->context);
}

static int server_message(ssh_session session, ssh_message message, void *userdata) {
    (void)session;
    cshim_ssh_server_handlers *h = &((struct server_installation *)userdata)->handlers;
    return h->message(h->context, message);
}

void *cshim_ssh_install_server_callbacks(void *session, const cshim_ssh_server_handlers *handlers) {
    struct server_installation *inst = calloc(1, sizeof *inst);
    if (inst == NULL) return NULL;
    inst->handlers = *handlers;
    inst->callbacks.userdata = inst;
    if (handlers->auth_password) inst->callbacks.auth_password_function = server_auth_password;
    if (handlers->auth_pubkey) inst->callbacks.auth_pubkey_function = server_auth_pubkey;
    if (handlers->auth_none) inst->callbacks.auth_none_function = server_auth_none;
    if (handlers->open_session_channel) inst->callbacks.channel_open_request_session_function = server_open_session;
    ssh_callbacks_init(&inst->callbacks);
    if (ssh_set_server_callbacks((ssh_session)session, &inst->callbacks) != SSH_OK) {
        free(inst);
        return NULL;
    }
    if (handlers->message) ssh_set_message_callback((ssh_session)session, server_message, inst);
    return inst;
}

void cshim_ssh_free_server_callbacks(void *installed) { free(installed); }

struct channel_installation {
    struct ssh_channel_callbacks_struct callbacks;
    cshim_ssh_channel_handlers handlers;
};

#define CHANNEL_HANDLERS(userdata) (&((struct channel_installation *)(userdata))->handlers)

static int on_channel_data(ssh_session s, ssh_channel c, void *data, uint32_t len, int is_stderr, void *userdata) {
    (void)s; (void)c;
    cshim_ssh_channel_handlers *h = CHANNEL_HANDLERS(userdata);
    return h->data(h->context, data, len, is_stderr);
}

static void on_channel_eof(ssh_session s, ssh_channel c, void *userdata) {
    (void)s; (void)c;
    cshim_ssh_channel_handlers *h = CHANNEL_HANDLERS(userdata);
    h->eof(h->context);
}

static void on_channel_close(ssh_session s, ssh_channel c, void *userdata) {
    (void)s; (void)c;
    cshim_ssh_channel_handlers *h = CHANNEL_HANDLERS(userdata);
    h->close(h->context);
}

static void on_channel_signal(ssh_session s, ssh_channel c, const char *name, void *userdata) {
    (void)s; (void)c;
    cshim_ssh_channel_handlers *h = CHANNEL_HANDLERS(userdata);
    h->signal(h->context, name);
}

static int on_channel_pty_request(ssh_session s, ssh_channel c, const char *term, int cols, int rows,
                               int xpixel, int ypixel, void *userdata) {
    (void)s; (void)c;
    cshim_ssh_channel_handlers *h = CHANNEL_HANDLERS(userdata);
    return h->pty_request(h->context, term, cols, rows, xpixel, ypixel);
}

static int on_channel_window_change(ssh_session s, ssh_channel c, int cols, int rows,
                                 int xpixel, int ypixel, void *userdata) {
    (void)s; (void)c;
    cshim_ssh_channel_handlers *h = CHANNEL_HANDLERS(userdata);
    return h->pty_window_change(h->context, cols, rows, xpixel, ypixel);
}

static int on_channel_shell(ssh_session s, ssh_channel c, void *userdata) {
    (void)s; (void)c;
    cshim_ssh_channel_handlers *h = CHANNEL_HANDLERS(userdata);
    return h->shell_request(h->context);
}

static int on_channel_exec(ssh_session s, ssh_channel c, const char *command, void *userdata) {
    (void)s; (void)c;
    cshim_ssh_channel_handlers *h = CHANNEL_HANDLERS(userdata);
    return h->exec_request(h->context, command);
}

static int on_channel_env(ssh_session s, ssh_channel c, const char *name, const char *value, void *userdata) {
    (void)s; (void)c;
    cshim_ssh_channel_handlers *h = CHANNEL_HANDLERS(userdata);
    return h->env_request(h->context, name, value);
}

static int on_channel_subsystem(ssh_session s, ssh_channel c, const char *subsystem, void *userdata) {
    (void)s; (void)c;
    cshim_ssh_channel_handlers *h = CHANNEL_HANDLERS(userdata);
    return h->subsystem_request(h->context, subsystem);
}

void *cshim_ssh_install_channel_callbacks(void *channel, const cshim_ssh_channel_handlers *handlers) {
    struct channel_installation *inst = calloc(1, sizeof *inst);
    if (inst == NULL) return NULL;
    inst->handlers = *handlers;
    struct ssh_channel_callbacks_struct *cb = &inst->callbacks;
    cb->userdata = inst;
    if (handlers->data) cb->channel_data_function = on_channel_data;
    if (handlers->eof) cb->channel_eof_function = on_channel_eof;
    if (handlers->close) cb->channel_close_function = on_channel_close;
    if (handlers->signal) cb->channel_signal_function = on_channel_signal;
    if (handlers->pty_request) cb->channel_pty_request_function = on_channel_pty_request;
    if (handlers->pty_window_change) cb->channel_pty_window_change_function = on_channel_window_change;
    if (handlers->shell_request) cb->channel_shell_request_function = on_channel_shell;
    if (handlers->exec_request) cb->channel_exec_request_function = on_channel_exec;
    if (handlers->env_request) cb->channel_env_request_function = on_channel_env;
    if (handlers->subsystem_request) cb->channel_subsystem_request_function = on_channel_subsystem;
    ssh_callbacks_init(cb);
    if (ssh_set_channel_callbacks((ssh_channel)channel, cb) != SSH_OK) {
        free(inst);
        return NULL;
    }
    return inst;
}

void cshim_ssh_remove_channel_callbacks(void *channel, void *installed) {
    if (installed == NULL) return;
    if (channel != NULL) {
        ssh_remove_channel_callbacks((ssh_channel)channel, &((struct channel_installation *)installed)->callbacks);
    }
    free(installed);
}
