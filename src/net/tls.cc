#include "net/tls.h"

#include <openssl/err.h>

namespace glide::net {

std::string ssl_error_string(unsigned long e) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    return buf;
}

// The first error of the thread's queue is the root cause (a missing file, a bad PEM block);
// the rest repeat it in terms of the layers above. The queue is left empty.
static Error ssl_failure(const std::string &call) {
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    return make_error(call + " failed (" + (e ? ssl_error_string(e) : "unknown error") + ")");
}

Result<SslCtxPtr> make_server_ssl_ctx(const std::string &certificate, const std::string &key) {
    SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx)
        return ssl_failure("SSL_CTX_new()");
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    // Renegotiation is a cheap way for a client to make the server work; nothing needs it.
    SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    // Idle connections are the common case in messaging: free their TLS buffers while idle.
    SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), certificate.c_str()) != 1)
        return ssl_failure("SSL_CTX_use_certificate_chain_file(\"" + certificate + "\")");
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1)
        return ssl_failure("SSL_CTX_use_PrivateKey_file(\"" + key + "\")");
    if (SSL_CTX_check_private_key(ctx.get()) != 1)
        return ssl_failure("SSL_CTX_check_private_key(\"" + key + "\")");
    return ctx;
}

} // namespace glide::net
