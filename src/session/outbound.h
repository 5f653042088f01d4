// An outbound message encoded at most once per codec. A fan-out (group delivery, every device
// of a uid, presence to many subscribers) builds one Outbound and hands each recipient the
// shared buffer of its connection's codec.
//
// Encode buffers are recycled: a destroyed Outbound gives its (unshared) buffers to a small
// per-thread pool, from which the next encoding takes one, so a steady stream of messages
// encodes without allocating.
#pragma once

#include <memory>
#include <string>

#include "codec/message.h"
#include "session/link.h"

namespace glide::session {

class Outbound {
public:
    explicit Outbound(codec::Envelope e) : env_(std::move(e)) {}
    // make_message(seq, action, payload) built in place (the payload moved once).
    template <typename T> Outbound(int64_t seq, std::string_view action, T &&payload) {
        env_.seq = seq;
        env_.action = action;
        env_.data.emplace<std::decay_t<T>>(std::forward<T>(payload));
    }
    ~Outbound();
    Outbound(Outbound &&) = default;
    Outbound &operator=(Outbound &&) = delete;
    Outbound(const Outbound &) = delete;
    Outbound &operator=(const Outbound &) = delete;

    const codec::Envelope &envelope() const { return env_; }
    // The envelope, for a caller that takes its fields back after the sends (the encodings
    // already made stay as they are).
    codec::Envelope &envelope() { return env_; }

    // The encoding for codec c, built on first use; null when the envelope cannot be encoded
    // in c (raw data of the other codec that does not transcode), which callers log.
    Encoded *encoded(codec::Codec c);
    // Gives the encoding for codec c that the caller already has (`text` is what encode(c) of
    // the envelope makes: e.g. the JSON that came over the cluster bus); before encoded(c).
    void set_encoded(codec::Codec c, std::string text) {
        const int i = c == codec::Codec::json ? 0 : 1;
        buf_[i].text() = std::move(text);
        tried_[i] = ok_[i] = true;
    }

private:
    codec::Envelope env_;
    Encoded buf_[2];
    bool tried_[2] = {false, false};
    bool ok_[2] = {false, false};
};

} // namespace glide::session
