// The loop side and the queue of a store backend that works on a thread of its own (SqliteStore,
// PgStore): calls are queued as Ops by the loop thread, the writer thread takes everything
// queued so far as one batch, executes it (one transaction) and hands the batch back; an eventfd
// watched by a libevent event wakes the loop, where each Op's completion runs, in call order.
//
// An Op provides `void failed(const Outcome &)` (fills in the answer to a call that could not be
// carried out) and `void complete()` (runs the caller's callback; loop thread).
//
// While `refuse()` is in force (PgStore while its database is unreachable), push() does not queue:
// the Op is failed at once and answered on the next loop turn, so calls fail promptly instead of
// waiting for a reconnection.
#pragma once

#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/result.h"
#include "net/libevent.h"
#include "host/store/store.h"

namespace glide::store {

template <typename Op> class WriterThread {
public:
    WriterThread() = default;
    WriterThread(const WriterThread &) = delete;
    WriterThread &operator=(const WriterThread &) = delete;
    ~WriterThread() { stop(); }

    // Watches the eventfd on `base` and starts `body` on a thread named `name` (15 characters
    // at most: top -H and glide-bench's CPU split show it). `body` loops on take() and give().
    Status start(event_base *base, const char *name, std::function<void()> body) {
        wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (wake_fd_ < 0)
            return make_error("eventfd() failed");
        wake_ev_.reset(event_new(base, wake_fd_, EV_READ | EV_PERSIST, on_wake, this));
        if (!wake_ev_ || event_add(wake_ev_.get(), nullptr) != 0)
            return make_error("event_add() failed");
        thread_ = std::thread(std::move(body));
        pthread_setname_np(thread_.native_handle(), name);
        return {};
    }

    // Lets the writer finish what is queued, joins it, then runs the remaining completions here
    // (the loop thread).
    void stop() {
        if (thread_.joinable()) {
            {
                std::lock_guard lock(mu_);
                stopping_ = true;
            }
            cv_.notify_one();
            thread_.join();
        }
        wake_ev_.reset();
        run_answers();
        if (wake_fd_ >= 0)
            ::close(wake_fd_);
        wake_fd_ = -1;
    }

    // Loop thread: queues a call, or fails it at once while refuse() is in force.
    void push(Op op) {
        {
            std::lock_guard lock(mu_);
            if (!refusal_) {
                queue_.push_back(std::move(op));
                cv_.notify_one();
                return;
            }
            op.failed(*refusal_);
            answers_.push_back(std::move(op));
        }
        wake();
    }

    // Writer thread: waits for calls and takes them all into `batch` (empty on entry); false
    // when stopping with nothing left. With a deadline, also returns (true, empty batch) when it
    // passes.
    bool take(std::vector<Op> &batch,
              std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt) {
        std::unique_lock lock(mu_);
        auto ready = [this] { return stopping_ || !queue_.empty(); };
        if (deadline)
            cv_.wait_until(lock, *deadline, ready);
        else
            cv_.wait(lock, ready);
        if (queue_.empty())
            return !stopping_;
        batch.swap(queue_);
        return true;
    }

    // Writer thread: hands an executed (or failed) batch back to the loop; `batch` is left
    // empty. `committed`: the transactions it took.
    void give(std::vector<Op> &batch, unsigned committed) {
        {
            std::lock_guard lock(mu_);
            commits_ += committed;
            if (answers_.empty())
                answers_.swap(batch);
            else
                for (Op &op : batch)
                    answers_.push_back(std::move(op));
        }
        batch.clear();
        wake();
    }

    // Writer thread: from now on (until accept()), push() fails calls with `o`, and so does
    // this for what is queued already.
    void refuse(const Outcome &o) {
        {
            std::lock_guard lock(mu_);
            refusal_ = o;
            for (Op &op : queue_) {
                op.failed(o);
                answers_.push_back(std::move(op));
            }
            queue_.clear();
        }
        wake();
    }
    void accept() {
        std::lock_guard lock(mu_);
        refusal_.reset();
    }

    uint64_t commits() const {
        std::lock_guard lock(mu_);
        return commits_;
    }

private:
    void wake() {
        uint64_t one = 1;
        ssize_t n = ::write(wake_fd_, &one, sizeof one);
        (void)n; // the counter cannot overflow in practice; a wake-up is already pending then
    }
    static void on_wake(evutil_socket_t fd, short, void *self) {
        uint64_t n;
        while (::read(fd, &n, sizeof n) > 0) {
        }
        static_cast<WriterThread *>(self)->run_answers();
    }
    void run_answers() {
        std::vector<Op> ready;
        {
            std::lock_guard lock(mu_);
            ready.swap(answers_);
        }
        for (Op &op : ready)
            op.complete();
    }

    int wake_fd_ = -1; // eventfd: the writer tells the loop that answers are ready
    net::EventPtr wake_ev_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<Op> queue_;          // guarded by mu_
    std::vector<Op> answers_;        // guarded by mu_: executed (or failed), to complete
    std::optional<Outcome> refusal_; // guarded by mu_
    bool stopping_ = false;          // guarded by mu_
    uint64_t commits_ = 0;           // guarded by mu_
    std::thread thread_;
};

} // namespace glide::store
