// GSSAPI stand-ins for the fully static build (`make dist`, CONVERGE_STATIC_GSSAPI_STUBS).
// Debian's libssh.a is built with GSSAPI, and there is no static krb5 to satisfy it.
// The agent never offers "gssapi-with-mic", so libssh never reaches these; if it
// ever did, every call fails cleanly (GSS_S_FAILURE) and every release is a no-op.
// Dynamic builds leave this file empty: libssh.so brings the real libgssapi_krb5.
#ifdef CONVERGE_STATIC_GSSAPI_STUBS

#include <stddef.h>
#include <stdint.h>

typedef uint32_t OM_uint32;
typedef void *gss_opaque;  // gss_name_t, gss_cred_id_t, gss_ctx_id_t, gss_OID, gss_OID_set, ...
typedef struct { size_t length; void *value; } gss_buffer_desc_stub;

#define GSS_S_COMPLETE 0u
#define GSS_S_FAILURE (13u << 16)

// The two name-type OIDs libssh reads: no mechanism, so no OID.
gss_opaque GSS_C_NT_HOSTBASED_SERVICE = NULL;
gss_opaque GSS_C_NT_USER_NAME = NULL;

static OM_uint32 fail(OM_uint32 *minor) {
    if (minor) *minor = 0;
    return GSS_S_FAILURE;
}

static OM_uint32 released(OM_uint32 *minor, gss_opaque *handle) {
    if (minor) *minor = 0;
    if (handle) *handle = NULL;
    return GSS_S_COMPLETE;
}

OM_uint32 gss_accept_sec_context(OM_uint32 *minor, gss_opaque *context, gss_opaque cred,
                                 gss_buffer_desc_stub *input, gss_opaque bindings, gss_opaque *src_name,
                                 gss_opaque *mech, gss_buffer_desc_stub *output, OM_uint32 *flags,
                                 OM_uint32 *time_rec, gss_opaque *delegated) {
    (void)context; (void)cred; (void)input; (void)bindings; (void)src_name; (void)mech;
    (void)output; (void)flags; (void)time_rec; (void)delegated;
    return fail(minor);
}

OM_uint32 gss_acquire_cred(OM_uint32 *minor, gss_opaque name, OM_uint32 time_req, gss_opaque mechs,
                           int usage, gss_opaque *cred, gss_opaque *actual_mechs, OM_uint32 *time_rec) {
    (void)name; (void)time_req; (void)mechs; (void)usage; (void)cred; (void)actual_mechs; (void)time_rec;
    return fail(minor);
}

OM_uint32 gss_add_oid_set_member(OM_uint32 *minor, gss_opaque member, gss_opaque *set) {
    (void)member; (void)set;
    return fail(minor);
}

OM_uint32 gss_create_empty_oid_set(OM_uint32 *minor, gss_opaque *set) {
    if (set) *set = NULL;
    return fail(minor);
}

OM_uint32 gss_display_name(OM_uint32 *minor, gss_opaque name, gss_buffer_desc_stub *output, gss_opaque *type) {
    (void)name; (void)output; (void)type;
    return fail(minor);
}

OM_uint32 gss_display_status(OM_uint32 *minor, OM_uint32 status, int status_type, gss_opaque mech,
                             OM_uint32 *message_context, gss_buffer_desc_stub *string) {
    (void)status; (void)status_type; (void)mech;
    if (message_context) *message_context = 0;
    if (string) { string->length = 0; string->value = NULL; }
    return fail(minor);
}

OM_uint32 gss_get_mic(OM_uint32 *minor, gss_opaque context, OM_uint32 qop,
                      gss_buffer_desc_stub *message, gss_buffer_desc_stub *token) {
    (void)context; (void)qop; (void)message; (void)token;
    return fail(minor);
}

OM_uint32 gss_import_name(OM_uint32 *minor, gss_buffer_desc_stub *input, gss_opaque type, gss_opaque *name) {
    (void)input; (void)type;
    if (name) *name = NULL;
    return fail(minor);
}

OM_uint32 gss_indicate_mechs(OM_uint32 *minor, gss_opaque *set) {
    if (set) *set = NULL;
    return fail(minor);
}

OM_uint32 gss_init_sec_context(OM_uint32 *minor, gss_opaque cred, gss_opaque *context, gss_opaque target,
                               gss_opaque mech, OM_uint32 req_flags, OM_uint32 time_req, gss_opaque bindings,
                               gss_buffer_desc_stub *input, gss_opaque *actual_mech,
                               gss_buffer_desc_stub *output, OM_uint32 *ret_flags, OM_uint32 *time_rec) {
    (void)cred; (void)context; (void)target; (void)mech; (void)req_flags; (void)time_req; (void)bindings;
    (void)input; (void)actual_mech; (void)output; (void)ret_flags; (void)time_rec;
    return fail(minor);
}

OM_uint32 gss_inquire_cred(OM_uint32 *minor, gss_opaque cred, gss_opaque *name, OM_uint32 *lifetime,
                           int *usage, gss_opaque *mechs) {
    (void)cred; (void)name; (void)lifetime; (void)usage; (void)mechs;
    return fail(minor);
}

OM_uint32 gss_inquire_cred_by_mech(OM_uint32 *minor, gss_opaque cred, gss_opaque mech, gss_opaque *name,
                                   OM_uint32 *init_lifetime, OM_uint32 *accept_lifetime, int *usage) {
    (void)cred; (void)mech; (void)name; (void)init_lifetime; (void)accept_lifetime; (void)usage;
    return fail(minor);
}

OM_uint32 gss_release_buffer(OM_uint32 *minor, gss_buffer_desc_stub *buffer) {
    if (buffer) { buffer->length = 0; buffer->value = NULL; }
    return released(minor, NULL);
}

OM_uint32 gss_release_cred(OM_uint32 *minor, gss_opaque *cred) { return released(minor, cred); }
OM_uint32 gss_release_name(OM_uint32 *minor, gss_opaque *name) { return released(minor, name); }
OM_uint32 gss_release_oid_set(OM_uint32 *minor, gss_opaque *set) { return released(minor, set); }

OM_uint32 gss_test_oid_set_member(OM_uint32 *minor, gss_opaque member, gss_opaque set, int *present) {
    (void)member; (void)set;
    if (present) *present = 0;
    return fail(minor);
}

OM_uint32 gss_verify_mic(OM_uint32 *minor, gss_opaque context, gss_buffer_desc_stub *message,
                         gss_buffer_desc_stub *token, OM_uint32 *qop) {
    (void)context; (void)message; (void)token; (void)qop;
    return fail(minor);
}

#else
typedef int cshim_gssapi_stubs_unused;  // ISO C wants a non-empty translation unit.
#endif
