// The output of a plain-socket connection: a list of chunks written with writev. An empty
// queue holds no memory (three words); chunks come from, and return to, a ChunkPool shared by
// the connections of one event_base, so a connection that writes everything it queued in the
// same loop turn allocates nothing in steady state.
//
// A chunk holds copied bytes, optionally followed by a shared payload that is written by
// reference (the fan-out path); the shared_ptr is held until the payload has been written.
//
// Thread model: the queue and its pool belong to the event_base's thread.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace glide::net {

struct OutChunk;

class ChunkPool {
public:
    ChunkPool() = default;
    ~ChunkPool();
    ChunkPool(const ChunkPool &) = delete;
    ChunkPool &operator=(const ChunkPool &) = delete;

    // A chunk with room for at least `n` bytes; nullptr when out of memory.
    OutChunk *get(size_t n);
    void put(OutChunk *c);

    // A chunk of the standard size (header included) is kept for reuse, up to kMaxSpare.
    static constexpr size_t kChunkBytes = 2048;
    static constexpr size_t kMaxSpare = 64;
    size_t spare() const { return nspare_; }

private:
    OutChunk *spare_ = nullptr;
    size_t nspare_ = 0;
};

class OutQueue {
public:
    OutQueue() = default;
    // clear() must have run (the queue does not know its pool).
    ~OutQueue() = default;
    OutQueue(const OutQueue &) = delete;
    OutQueue &operator=(const OutQueue &) = delete;

    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }

    // Copies `n` bytes to the end; false (nothing queued) when out of memory.
    bool append(ChunkPool &pool, const void *p, size_t n) { return append(pool, p, n, nullptr, 0); }
    // Copies `n` bytes, then `m` bytes of `q` (a frame header and its payload), into one chunk
    // when they fit in one; false (nothing queued) when out of memory.
    bool append(ChunkPool &pool, const void *p, size_t n, const void *q, size_t m);
    // Copies `h` header bytes, then queues `msg` by reference; false (nothing queued) when out
    // of memory. `msg` must not be null.
    bool append_shared(ChunkPool &pool, const void *hdr, size_t h,
                       std::shared_ptr<const std::string> msg);
    // Up to `max` iovecs from the front; *bytes is their total.
    int peek(iovec *iov, int max, size_t *bytes) const;
    // Drops `n` written bytes from the front (n <= size()).
    void consume(ChunkPool &pool, size_t n);
    // Drops everything.
    void clear(ChunkPool &pool);

private:
    OutChunk *head_ = nullptr;
    OutChunk *tail_ = nullptr;
    size_t size_ = 0;
};

} // namespace glide::net
