#include "session/outbound.h"

#include "codec/payload.h"

namespace glide::session {

// Room for a typical chat message in one allocation (growing from empty would reallocate
// five times on the way to ~300 bytes).
constexpr size_t kInitialReserve = 512;

Encoded *Outbound::encoded(codec::Codec c) {
    int i = c == codec::Codec::json ? 0 : 1;
    if (!tried_[i]) {
        tried_[i] = true;
        std::string &s = buf_[i].text();
        s.reserve(kInitialReserve);
        ok_[i] = codec::encode(c, env_, &s).ok();
    }
    return ok_[i] ? &buf_[i] : nullptr;
}

} // namespace glide::session
