// TLS listeners over real sockets, with a self-signed certificate made in-process: WebSocket
// and TCP framing through TLS (echo, then a close that ends with the server's close_notify),
// the handshake timeout covering the TLS handshake, a client that is not speaking TLS, and a
// key that does not match its certificate.
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ec.h>
#include <openssl/x509.h>

#include <csignal>
#include <cstdio>

#include "net/net_test_util.h"
// cmocka last: its macros clash with the standard library's headers.
#include "glide_cmocka.h"

using namespace glide;
using namespace glide::test;

namespace {

char g_dir[] = "/tmp/glide-tls-XXXXXX";
std::string g_cert, g_key, g_other_key;

bool write_pem(const std::string &path, EVP_PKEY *key, X509 *cert) {
    FILE *f = fopen(path.c_str(), "w");
    if (!f)
        return false;
    bool ok = cert ? PEM_write_X509(f, cert) == 1
                   : PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
    return fclose(f) == 0 && ok;
}

// A self-signed certificate for CN=localhost, valid for a day.
int make_certificate(void **) {
    if (!mkdtemp(g_dir))
        return -1;
    g_cert = std::string(g_dir) + "/cert.pem";
    g_key = std::string(g_dir) + "/key.pem";
    g_other_key = std::string(g_dir) + "/other.pem";
    // P-256 keys: as good a test of the module's TLS as RSA, and made in microseconds where
    // two RSA-2048 keys took most of a minute under valgrind.
    EVP_PKEY *key = EVP_EC_gen("P-256");
    EVP_PKEY *other = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    if (!key || !other || !x)
        return -1;
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char *>("localhost"), -1, -1, 0);
    X509_set_issuer_name(x, name);
    bool ok = X509_sign(x, key, EVP_sha256()) > 0 && write_pem(g_cert, nullptr, x) &&
              write_pem(g_key, key, nullptr) && write_pem(g_other_key, other, nullptr);
    X509_free(x);
    EVP_PKEY_free(key);
    EVP_PKEY_free(other);
    return ok ? 0 : -1;
}

int remove_certificate(void **) {
    unlink(g_cert.c_str());
    unlink(g_key.c_str());
    unlink(g_other_key.c_str());
    rmdir(g_dir);
    return 0;
}

// A blocking TLS client on a connected socket (certificate checks are not the point here).
struct TlsClient {
    SSL_CTX *ctx = nullptr;
    SSL *ssl = nullptr;
    int fd = -1;

    bool connect(uint16_t port) {
        fd = tcp_connect(port);
        ctx = SSL_CTX_new(TLS_client_method());
        ssl = SSL_new(ctx);
        SSL_set_fd(ssl, fd);
        return fd >= 0 && SSL_connect(ssl) == 1;
    }
    ~TlsClient() {
        SSL_free(ssl);
        SSL_CTX_free(ctx);
        if (fd >= 0)
            ::close(fd);
    }
    bool write(std::string_view s) {
        return SSL_write(ssl, s.data(), static_cast<int>(s.size())) > 0;
    }
    bool read_exact(void *buf, size_t n) {
        auto *p = static_cast<char *>(buf);
        while (n) {
            int r = SSL_read(ssl, p, static_cast<int>(n));
            if (r <= 0)
                return false;
            p += r;
            n -= static_cast<size_t>(r);
        }
        return true;
    }
    std::string read_head() {
        std::string s;
        char c;
        while (s.size() < 65536 && read_exact(&c, 1)) {
            s += c;
            if (s.size() >= 4 && s.compare(s.size() - 4, 4, "\r\n\r\n") == 0)
                break;
        }
        return s;
    }
    // After the server's close: true when it ended the TLS stream with close_notify.
    bool clean_eof() {
        char c;
        int r = SSL_read(ssl, &c, 1);
        return r == 0 && SSL_get_error(ssl, r) == SSL_ERROR_ZERO_RETURN;
    }
    bool read_ws_frame(WsFrame *f) {
        uint8_t h[2];
        if (!read_exact(h, 2))
            return false;
        f->opcode = h[0] & 0x0F;
        f->fin = h[0] & 0x80;
        uint64_t len = h[1] & 0x7F;
        if (len == 126) {
            uint8_t e[2];
            if (!read_exact(e, 2))
                return false;
            len = static_cast<uint64_t>(e[0]) << 8 | e[1];
        } else if (len == 127) {
            uint8_t e[8];
            if (!read_exact(e, 8))
                return false;
            len = 0;
            for (uint8_t b : e)
                len = len << 8 | b;
        }
        f->payload.resize(len);
        return len == 0 || read_exact(f->payload.data(), len);
    }
};

void test_ws_over_tls(void **) {
    EchoHandler h;
    TestServer s;
    Module *m = s.add({{"glide_listen", {"127.0.0.1:0", "ws", "ssl"}},
                       {"glide_ssl_certificate", {g_cert}},
                       {"glide_ssl_certificate_key", {g_key}},
                       {"glide_max_message_size", {"1m"}}},
                      &h);
    assert_non_null(m);
    s.loop.start();
    TlsClient c;
    assert_true(c.connect(TestServer::port(m)));
    assert_true(c.write(upgrade_request("/ws", "Sec-WebSocket-Protocol: glide.protobuf\r\n")));
    std::string head = c.read_head();
    assert_int_equal(status_of(head), 101);
    std::string big(100000, 'q');
    assert_true(c.write(client_frame(1, "over tls") + client_frame(2, big) + client_close(1000)));
    WsFrame f;
    assert_true(c.read_ws_frame(&f));
    assert_int_equal(f.opcode, 1);
    assert_string_equal(f.payload.c_str(), "over tls");
    assert_true(c.read_ws_frame(&f));
    assert_true(f.payload == big);
    assert_true(c.read_ws_frame(&f));
    assert_int_equal(f.opcode, 8);
    assert_int_equal(f.close_code(), 1000);
    assert_true(c.clean_eof());
    assert_true(wait_for([&] { return h.closed.load() == 1; }));
    assert_int_equal(h.last_close.load(), 1000);
}

void test_tcp_over_tls(void **) {
    EchoHandler h;
    TestServer s;
    Module *m = s.add({{"glide_listen", {"127.0.0.1:0", "tcp", "ssl"}},
                       {"glide_ssl_certificate", {g_cert}},
                       {"glide_ssl_certificate_key", {g_key}},
                       {"glide_max_message_size", {"1k"}}},
                      &h);
    assert_non_null(m);
    s.loop.start();
    TlsClient c;
    assert_true(c.connect(TestServer::port(m)));
    assert_true(c.write(tcp_message("ping over tls")));
    uint8_t hdr[4];
    assert_true(c.read_exact(hdr, 4));
    assert_int_equal(hdr[3], 13);
    char body[13];
    assert_true(c.read_exact(body, 13));
    assert_memory_equal(body, "ping over tls", 13);
    assert_int_equal(h.opened.load(), 1);
    // Over the limit: the server closes, with close_notify.
    assert_true(c.write(tcp_message(std::string(2000, 'x')).substr(0, 4)));
    assert_true(c.clean_eof());
    assert_true(wait_for([&] { return h.closed.load() == 1; }));
    assert_int_equal(h.last_close.load(), 1009);
}

// The frame budget under TLS: 1000 messages in one record are handled 64 per loop turn, the
// rest resumed from the input buffer although no byte follows them; all echoed, in order.
void test_tls_budget_resumes(void **) {
    constexpr int kFlood = 1000;
    EchoHandler h;
    TestServer s;
    Module *m = s.add({{"glide_listen", {"127.0.0.1:0", "tcp", "ssl"}},
                       {"glide_ssl_certificate", {g_cert}},
                       {"glide_ssl_certificate_key", {g_key}}},
                      &h);
    assert_non_null(m);
    s.loop.start();
    TlsClient c;
    assert_true(c.connect(TestServer::port(m)));
    std::string flood;
    for (int i = 0; i < kFlood; i++)
        flood += tcp_message(std::to_string(i));
    assert_true(c.write(flood));
    for (int i = 0; i < kFlood; i++) {
        uint8_t hdr[4];
        assert_true(c.read_exact(hdr, 4));
        std::string body(hdr[3], '\0');
        assert_true(c.read_exact(body.data(), body.size()));
        assert_string_equal(body.c_str(), std::to_string(i).c_str());
    }
}

void test_tls_handshake_timeout_and_garbage(void **) {
    EchoHandler h;
    TestServer s;
    Module *m = s.add({{"glide_listen", {"127.0.0.1:0", "ws", "ssl"}},
                       {"glide_ssl_certificate", {g_cert}},
                       {"glide_ssl_certificate_key", {g_key}},
                       {"glide_handshake_timeout", {"300ms"}}},
                      &h);
    assert_non_null(m);
    s.loop.start();
    // Silent: closed by the timeout. Plain HTTP on a TLS port: the TLS handshake fails.
    int idle = tcp_connect(TestServer::port(m));
    int plain = tcp_connect(TestServer::port(m));
    write_all(plain, upgrade_request());
    bool eof = false;
    read_to_eof(idle, &eof);
    read_to_eof(plain, &eof);
    ::close(idle);
    ::close(plain);
    // Both are gone from the module, and neither reached the handler.
    assert_true(wait_for([&] {
        glide_stats st{};
        s.loop.run([&] { m->stats(st); });
        return st.connections == 0 && st.connections_closed == 2;
    }));
    assert_int_equal(h.opened.load(), 0);
}

void test_key_mismatch(void **) {
    EchoHandler h;
    TestServer s;
    std::string err;
    Module *m = s.add({{"glide_listen", {"127.0.0.1:0", "ws", "ssl"}},
                       {"glide_ssl_certificate", {g_cert}},
                       {"glide_ssl_certificate_key", {g_other_key}}},
                      &h, {}, &err);
    assert_null(m);
    std::string want = "SSL_CTX_use_PrivateKey_file(\"" + g_other_key + "\") failed (";
    if (err.compare(0, want.size(), want) != 0) {
        print_error("got: %s\n", err.c_str());
        fail();
    }
    assert_int_equal(ERR_peek_error(), 0);
}

} // namespace

int main() {
    signal(SIGPIPE, SIG_IGN); // the host's job; the module never touches signals
    const CMUnitTest tests[] = {
        cmocka_unit_test(test_ws_over_tls),
        cmocka_unit_test(test_tcp_over_tls),
        cmocka_unit_test(test_tls_budget_resumes),
        cmocka_unit_test(test_tls_handshake_timeout_and_garbage),
        cmocka_unit_test(test_key_mismatch),
    };
    return cmocka_run_group_tests(tests, make_certificate, remove_certificate);
}
