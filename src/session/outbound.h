// An outbound message encoded at most once per codec. A fan-out (group delivery, every device
// of a uid, presence to many subscribers) builds one Outbound and hands each recipient the
// shared buffer of its connection's codec.
#pragma once

#include <memory>
#include <string>

#include "codec/message.h"
#include "session/link.h"

namespace glide::session {

class Outbound {
public:
    explicit Outbound(codec::Envelope e) : env_(std::move(e)) {}

    const codec::Envelope &envelope() const { return env_; }

    // The encoding for codec c, built on first use; null when the envelope cannot be encoded
    // in c (raw data of the other codec that does not transcode), which callers log.
    Encoded *encoded(codec::Codec c);

private:
    codec::Envelope env_;
    Encoded buf_[2];
    bool tried_[2] = {false, false};
    bool ok_[2] = {false, false};
};

} // namespace glide::session
