#include "net/out_queue.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

namespace glide::net {

// Copied bytes data()[start, end), then ref's bytes from ref_off.
struct OutChunk {
    OutChunk *next = nullptr;
    std::shared_ptr<const std::string> ref;
    size_t ref_off = 0;
    size_t cap = 0;
    size_t start = 0;
    size_t end = 0;

    uint8_t *data() { return reinterpret_cast<uint8_t *>(this + 1); }
    size_t room() const { return ref ? 0 : cap - end; }
};

namespace {

constexpr size_t kStandardCap = ChunkPool::kChunkBytes - sizeof(OutChunk);

void free_chunk(OutChunk *c) {
    c->~OutChunk();
    std::free(c);
}

} // namespace

ChunkPool::~ChunkPool() {
    while (OutChunk *c = spare_) {
        spare_ = c->next;
        free_chunk(c);
    }
}

OutChunk *ChunkPool::get(size_t n) {
    if (n <= kStandardCap && spare_) {
        OutChunk *c = spare_;
        spare_ = c->next;
        nspare_--;
        c->next = nullptr;
        return c;
    }
    const size_t cap = std::max(n, kStandardCap);
    void *m = std::malloc(sizeof(OutChunk) + cap);
    if (!m)
        return nullptr;
    auto *c = new (m) OutChunk;
    c->cap = cap;
    return c;
}

void ChunkPool::put(OutChunk *c) {
    if (c->cap != kStandardCap || nspare_ >= kMaxSpare)
        return free_chunk(c);
    c->ref.reset();
    c->ref_off = c->start = c->end = 0;
    c->next = spare_;
    spare_ = c;
    nspare_++;
}

bool OutQueue::append(ChunkPool &pool, const void *p, size_t n, const void *q, size_t m) {
    const size_t total = n + m;
    if (total == 0)
        return true;
    OutChunk *c = tail_;
    if (!c || c->room() < total) {
        c = pool.get(total);
        if (!c)
            return false;
        if (tail_)
            tail_->next = c;
        else
            head_ = c;
        tail_ = c;
    }
    uint8_t *d = c->data() + c->end;
    if (n)
        std::memcpy(d, p, n);
    if (m)
        std::memcpy(d + n, q, m);
    c->end += total;
    size_ += total;
    return true;
}

bool OutQueue::append_shared(ChunkPool &pool, const void *hdr, size_t h,
                             std::shared_ptr<const std::string> msg) {
    if (!append(pool, hdr, h))
        return false;
    // The header went to the tail, which has no reference yet: the payload follows it there.
    tail_->ref = std::move(msg);
    size_ += tail_->ref->size();
    return true;
}

int OutQueue::peek(iovec *iov, int max, size_t *bytes) const {
    int n = 0;
    size_t total = 0;
    for (OutChunk *c = head_; c && n < max; c = c->next) {
        if (c->end > c->start) {
            iov[n].iov_base = c->data() + c->start;
            iov[n].iov_len = c->end - c->start;
            total += iov[n++].iov_len;
        }
        if (c->ref && c->ref_off < c->ref->size() && n < max) {
            iov[n].iov_base = const_cast<char *>(c->ref->data() + c->ref_off);
            iov[n].iov_len = c->ref->size() - c->ref_off;
            total += iov[n++].iov_len;
        }
    }
    *bytes = total;
    return n;
}

void OutQueue::consume(ChunkPool &pool, size_t n) {
    size_ -= n;
    while (n) {
        OutChunk *c = head_;
        const size_t own = std::min(n, c->end - c->start);
        c->start += own;
        n -= own;
        if (c->ref) {
            const size_t r = std::min(n, c->ref->size() - c->ref_off);
            c->ref_off += r;
            n -= r;
        }
        if (c->start < c->end || (c->ref && c->ref_off < c->ref->size()))
            break; // n is 0: the front chunk is partly written
        head_ = c->next;
        if (!head_)
            tail_ = nullptr;
        pool.put(c);
    }
}

void OutQueue::clear(ChunkPool &pool) {
    while (OutChunk *c = head_) {
        head_ = c->next;
        pool.put(c);
    }
    tail_ = nullptr;
    size_ = 0;
}

} // namespace glide::net
