// The pending host requests of one module instance and their deadlines (glide_callback_timeout).
//
// call() issues a request: it is allocated (from a per-thread pool), put in the pending list
// ordered by deadline, and handed to the HostPort call. It leaves the list when it finishes:
// completed by the host, failed at the call, or timed out. One timer, armed for the head's
// deadline, serves the whole list, so a request costs no timer operation. The store latency of
// every request but auth is counted into a Latency (common/stats.h).
#pragma once

#include <cstdint>
#include <memory>

#include "common/intrusive_list.h"
#include "common/stats.h"
#include "port/host_port.h"
#include "session/timer.h"

namespace glide::port {

class Requests {
public:
    Requests(session::TimerService &timers, Latency &latency)
        : timers_(timers), latency_(latency) {}
    // Outstanding requests outlive us in the host's hands: they are detached, so a late
    // completion is ignored and no continuation runs.
    ~Requests();
    Requests(const Requests &) = delete;
    Requests &operator=(const Requests &) = delete;

    // Issues a host call that times out after timeout_ms. `invoke(const RequestPtr &)` performs
    // the HostPort call (it may fill the request's context fields first) and returns its
    // result; a negative result finishes the request at once with it.
    template <typename Invoke>
    RequestPtr call(HostRequest::Kind kind, uint64_t timeout_ms, HostRequest::Continuation k,
                    Invoke &&invoke) {
        RequestPtr req = begin(kind, timeout_ms, std::move(k));
        int rc = invoke(req);
        if (rc < 0 && !req->finished())
            req->finish(rc, {}, false);
        else if (!req->finished())
            timers_.refresh_now(); // the host may have taken a while (finish() reads it too)
        return req;
    }

    size_t pending() const { return pending_.size(); }

private:
    friend class HostRequest;
    RequestPtr begin(HostRequest::Kind kind, uint64_t timeout_ms, HostRequest::Continuation k);
    void finished(HostRequest &r);
    void arm_deadline();
    void expire();

    session::TimerService &timers_;
    Latency &latency_;
    // Ordered by deadline: all share glide_callback_timeout, so a new one goes at the tail; a
    // reload that shortens the timeout inserts further up.
    IntrusiveList<HostRequest, &HostRequest::pending_hook_> pending_;
    session::TimerService::Handle deadline_timer_ = 0;
    int64_t deadline_timer_at_ = 0;
};

} // namespace glide::port
