// TLS for listeners marked `ssl`: the server SSL_CTX built from glide_ssl_certificate and
// glide_ssl_certificate_key. Only per-object OpenSSL calls are made; OpenSSL 3 initialises
// itself, and process-global settings belong to the host.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "common/result.h"

namespace glide::net {

struct SslCtxFree {
    void operator()(SSL_CTX *c) const { SSL_CTX_free(c); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

// A server context (TLS 1.2 and later, no renegotiation) with the certificate chain and key
// loaded and checked against each other. Errors name the call and the file, with OpenSSL's
// reason: SSL_CTX_use_certificate_chain_file("/x.pem") failed (error:80000002:system
// library::No such file or directory)
Result<SslCtxPtr> make_server_ssl_ctx(const std::string &certificate, const std::string &key);

// OpenSSL's text for one packed error code.
std::string ssl_error_string(unsigned long e);

} // namespace glide::net
