// port::HostPort over the host's glide_host table (include/glide/host.h), and the C completion
// functions (glide_api.auth_done, store_done, page_add, member_add, request_done).
//
// As port/host_port.h describes: each call passes the request itself as the opaque
// glide_request *, holding a reference inside it (HostRequest::host_hold); the completing call
// (auth_done, store_done, request_done) releases it, and so does the adapter when the callback
// fails at once (a negative return: no completion follows).
// A NULL callback, or one beyond the table's `size`, becomes the answer host.h documents.
#pragma once

#include <cstddef>

#include "common/log.h"
#include "glide/host.h"
#include "port/host_port.h"

namespace glide {

class HostAdapter final : public port::HostPort {
public:
    HostAdapter(const glide_host *host, Logger &log) : host_(host), log_(log) {}

    int auth(const port::RequestPtr &req, const port::AuthInput &in) override;
    int store_message(const port::RequestPtr &req, const codec::ChatMessage &msg) override;
    int mark_delivered(const port::RequestPtr &req, std::string_view uid,
                       std::string_view device_id, int64_t mid) override;
    int group_delivered(const port::RequestPtr &req, std::string_view uid,
                        std::string_view device_id, int64_t first_mid, int64_t mid) override;
    bool group_receipts() const override;
    int load_undelivered(const port::RequestPtr &req, std::string_view uid,
                         std::string_view device_id, int64_t after_mid, uint32_t limit) override;
    int group_publish(const port::RequestPtr &req, const codec::ChatMessage &msg) override;
    int group_members(const port::RequestPtr &req, std::string_view gid) override;
    void presence(std::string_view uid, std::string_view device_id, std::string_view node_id,
                  bool online) override;
    void log(glide_log_level level, std::string_view msg) override;

private:
    using MessageCall = int (*)(void *, glide_request *, const glide_message *);
    int send_message(const port::RequestPtr &req, const codec::ChatMessage &msg, MessageCall call,
                     const char *absent, uint32_t flags);
    int delivery(const port::RequestPtr &req, std::string_view uid, std::string_view device_id,
                 int64_t first_mid, int64_t mid);

    const glide_host *host_;
    Logger &log_;
    std::string payload_; // glide_message.payload, reused between calls
    bool payload_busy_ = false;
};

// Which worker process of the host this instance is (glide_host.worker_index, .worker_count,
// ABI 1.4): {0, 0} for a table too short to hold them (an older host: one process).
struct HostWorker {
    uint32_t index = 0;
    uint32_t count = 0;
    bool several() const { return count > 1; }
};
HostWorker host_worker(const glide_host *host);

// A glide_message view of m (borrows m and payload) with GLIDE_MESSAGE_* `flags`, and the
// message a glide_message holds (the fields its `size` covers).
glide_message to_glide_message(const codec::ChatMessage &m, std::string_view payload,
                               uint32_t flags = 0);
codec::ChatMessage from_glide_message(const glide_message *m);

// The fields of m that its `size` covers (all but mid and payload) into `out` — a
// codec::ChatMessage, or a view with the same field names — each string through conv(glide_str).
template <typename Out, typename Conv>
void read_glide_message(const glide_message *m, Out &out, Conv conv) {
#define GLIDE_COVERS(f) (m->size >= offsetof(glide_message, f) + sizeof(m->f))
    if (GLIDE_COVERS(seq))
        out.seq = m->seq;
    if (GLIDE_COVERS(cli_mid))
        out.cli_mid = conv(m->cli_mid);
    if (GLIDE_COVERS(from))
        out.from = conv(m->from);
    if (GLIDE_COVERS(to))
        out.to = conv(m->to);
    if (GLIDE_COVERS(type))
        out.type = m->type;
    if (GLIDE_COVERS(content))
        out.content = conv(m->content);
    if (GLIDE_COVERS(send_at))
        out.send_at = m->send_at;
#undef GLIDE_COVERS
}
// A glide_auth_result view of a (borrows a), for the tests' hosts that verify with the core's
// C++ code (glided uses glide_api.credential_open, as any host).
glide_auth_result to_glide_auth_result(const port::AuthResult &a);

// The completion functions behind glide_api (return GLIDE_OK, GLIDE_EINVAL for a NULL or
// mismatched request or a struct too small to read).
int request_auth_done(glide_request *req, const glide_auth_result *r);
int request_store_done(glide_request *req, const glide_store_result *r);
int request_page_add(glide_request *req, const glide_message *m);
int request_member_add(glide_request *req, glide_str uid);
int request_done(glide_request *req, int status, glide_str error);

} // namespace glide
