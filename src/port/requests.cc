#include "port/requests.h"

#include "common/per_thread.h"

namespace glide::port {

// --- requests ----------------------------------------------------------------------------

bool HostRequest::auth_done(AuthResult r) {
    if (finished_ || kind_ != Kind::auth)
        return false;
    auth_ = std::move(r);
    finish(GLIDE_OK, {}, false);
    return true;
}

bool HostRequest::store_done(StoreResult r) {
    if (finished_ || (kind_ != Kind::store_message && kind_ != Kind::group_publish))
        return false;
    int st = r.status;
    std::string err = r.error;
    store_ = std::move(r);
    finish(st, std::move(err), false);
    return true;
}

bool HostRequest::page_add(codec::ChatMessage m, bool group) {
    if (finished_ || kind_ != Kind::load_undelivered)
        return false;
    page_.push_back({std::move(m), group});
    return true;
}

bool HostRequest::member_add(std::string uid) {
    if (finished_ || kind_ != Kind::group_members)
        return false;
    members_.push_back(std::move(uid));
    return true;
}

bool HostRequest::request_done(int status, std::string error) {
    if (finished_ || kind_ == Kind::auth || kind_ == Kind::store_message ||
        kind_ == Kind::group_publish)
        return false;
    finish(status, std::move(error), false);
    return true;
}

void HostRequest::finish(int status, std::string error, bool timed_out) {
    finished_ = true;
    status_ = status;
    error_ = std::move(error);
    timed_out_ = timed_out;
    if (owner_)
        owner_->finished(*this);
}

// Request memory: allocate_shared puts a HostRequest and its reference counts in one block of a
// fixed size, and finished blocks wait in a per-thread free list for the next request, so a
// steady stream of host calls does not allocate. Per thread, not per instance: the host may hold a
// request after its instance is gone. Off under AddressSanitizer, which then sees every request's
// use after free.
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kPoolRequests = false;
#else
constexpr bool kPoolRequests = true;
#endif
constexpr size_t kPooledRequests = 256;

struct RequestPool {
    void *head = nullptr; // free blocks, linked through their first word
    size_t size = 0;      // the block size (one type is ever allocated)
    size_t count = 0;
    ~RequestPool();
};
// Null once the thread's pool is destroyed (thread exit): later blocks go back to the heap.
using Pool = PerThread<RequestPool>;

RequestPool::~RequestPool() {
    while (head) {
        void *next = *static_cast<void **>(head);
        ::operator delete(head);
        head = next;
    }
}

template <typename T> struct RequestAllocator {
    using value_type = T;
    RequestAllocator() = default;
    template <typename U> RequestAllocator(const RequestAllocator<U> &) {}
    T *allocate(size_t n) {
        static_assert(sizeof(T) >= sizeof(void *));
        RequestPool *p = Pool::get();
        size_t bytes = n * sizeof(T);
        if (p && p->head && p->size == bytes) {
            void *b = p->head;
            p->head = *static_cast<void **>(b);
            p->count--;
            return static_cast<T *>(b);
        }
        return static_cast<T *>(::operator new(bytes));
    }
    void deallocate(T *b, size_t n) {
        RequestPool *p = kPoolRequests ? Pool::get() : nullptr;
        size_t bytes = n * sizeof(T);
        if (!p || p->count >= kPooledRequests || (p->size && p->size != bytes)) {
            ::operator delete(b);
            return;
        }
        p->size = bytes;
        *reinterpret_cast<void **>(b) = p->head;
        p->head = b;
        p->count++;
    }
    template <typename U> bool operator==(const RequestAllocator<U> &) const { return true; }
};

} // namespace

RequestPtr Requests::begin(HostRequest::Kind kind, uint64_t timeout_ms,
                           HostRequest::Continuation k) {
    auto req = std::allocate_shared<HostRequest>(RequestAllocator<HostRequest>{}, this, kind,
                                                 std::move(k));
    HostRequest &r = *req;
    r.started_ms_ = timers_.now_ms();
    r.deadline_ms_ = r.started_ms_ + static_cast<int64_t>(timeout_ms);
    r.pending_ref_ = req;
    // Insert by deadline from the tail: with one timeout for all, that is the tail itself.
    HostRequest *after = pending_.back();
    while (after && after->deadline_ms_ > r.deadline_ms_)
        after = pending_.prev(*after);
    pending_.insert_after(after, r);
    arm_deadline();
    return req;
}

// The deadline timer stays armed for the earliest deadline it was set for; finished requests
// leave the list without touching it, and expire() re-arms it for the new head.
void Requests::arm_deadline() {
    if (pending_.empty())
        return;
    int64_t due = pending_.front()->deadline_ms_;
    if (deadline_timer_) {
        if (due >= deadline_timer_at_)
            return;
        timers_.cancel(deadline_timer_);
    }
    int64_t now = timers_.now_ms();
    deadline_timer_at_ = due;
    deadline_timer_ = timers_.schedule(due > now ? static_cast<uint64_t>(due - now) : 0, [this] {
        deadline_timer_ = 0;
        expire();
    });
}

void Requests::expire() {
    int64_t now = timers_.now_ms();
    // finish() unlinks the head (finished()), and its continuation may add requests at the
    // tail, whose deadlines are later.
    while (!pending_.empty() && pending_.front()->deadline_ms_ <= now)
        pending_.front()->finish(GLIDE_ECLOSED, "deadline", true);
    arm_deadline();
}

void Requests::finished(HostRequest &r) {
    if (!r.pending_ref_)
        return;
    RequestPtr keep = std::move(r.pending_ref_); // the host may hold only a raw pointer
    pending_.remove(r);
    r.owner_ = nullptr;
    // Read the clock: the host may have answered inside the event that made the call.
    const int64_t now = timers_.refresh_now();
    if (r.kind_ != HostRequest::Kind::auth) {
        int64_t took = now - r.started_ms_;
        bool failed = r.timed_out_ || (r.status_ < 0 && r.status_ != GLIDE_ENOTFOUND);
        latency_.add(took > 0 ? static_cast<uint64_t>(took) : 0, failed);
    }
    auto k = std::move(r.k_);
    if (k)
        k(r);
}

Requests::~Requests() {
    while (HostRequest *r = pending_.pop_front()) {
        r->owner_ = nullptr;
        r->finished_ = true;
        r->k_ = nullptr;
        r->pending_ref_.reset(); // may free r
    }
    timers_.cancel(deadline_timer_);
}

} // namespace glide::port
