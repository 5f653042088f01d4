#include "session/outbound.h"

#include <vector>

#include "codec/payload.h"
#include "common/per_thread.h"

namespace glide::session {

namespace {

// Room for a typical chat message in one allocation (growing from empty would reallocate
// five times on the way to ~300 bytes).
constexpr size_t kInitialReserve = 512;
// Spare buffers kept per thread, and the largest one kept (a rare big message's buffer is
// freed rather than held).
constexpr size_t kPooledBuffers = 16;
constexpr size_t kPooledCapacity = 64 * 1024;

struct BufferPool {
    std::vector<std::string> spare;
    BufferPool() { spare.reserve(kPooledBuffers); }
};
using Pool = PerThread<BufferPool>; // null after thread exit: Outbounds then free their buffers

} // namespace

Outbound::~Outbound() {
    BufferPool *pool = Pool::get();
    if (!pool)
        return;
    for (Encoded &b : buf_) {
        std::string &s = b.text(); // empty after share(): the bytes moved to the shared buffer
        if (s.capacity() < kInitialReserve || s.capacity() > kPooledCapacity ||
            pool->spare.size() >= kPooledBuffers)
            continue;
        s.clear();
        pool->spare.push_back(std::move(s));
    }
}

Encoded *Outbound::encoded(codec::Codec c) {
    int i = c == codec::Codec::json ? 0 : 1;
    if (!tried_[i]) {
        tried_[i] = true;
        std::string &s = buf_[i].text();
        if (BufferPool *pool = Pool::get(); pool && !pool->spare.empty()) {
            s = std::move(pool->spare.back());
            pool->spare.pop_back();
        } else {
            s.reserve(kInitialReserve);
        }
        ok_[i] = codec::encode(c, env_, &s).ok();
    }
    return ok_[i] ? &buf_[i] : nullptr;
}

} // namespace glide::session
