#include "session/outbound.h"

#include "codec/payload.h"

namespace glide::session {

const std::shared_ptr<const std::string> &Outbound::encoded(codec::Codec c) {
    int i = c == codec::Codec::json ? 0 : 1;
    if (!tried_[i]) {
        tried_[i] = true;
        auto s = std::make_shared<std::string>();
        if (codec::encode(c, env_, s.get()))
            buf_[i] = std::move(s);
    }
    return buf_[i];
}

} // namespace glide::session
