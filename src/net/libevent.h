// RAII owners for libevent objects, defined once.
#pragma once

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include <memory>

namespace glide::net {

struct EventFree {
    void operator()(event *e) const { event_free(e); }
};
struct BuffereventFree {
    void operator()(bufferevent *b) const { bufferevent_free(b); }
};
struct ListenerFree {
    void operator()(evconnlistener *l) const { evconnlistener_free(l); }
};
struct EvbufferFree {
    void operator()(evbuffer *b) const { evbuffer_free(b); }
};

using EventPtr = std::unique_ptr<event, EventFree>;
using BuffereventPtr = std::unique_ptr<bufferevent, BuffereventFree>;
using ListenerPtr = std::unique_ptr<evconnlistener, ListenerFree>;
using EvbufferPtr = std::unique_ptr<evbuffer, EvbufferFree>;

inline timeval ms_to_tv(uint64_t ms) {
    timeval tv;
    tv.tv_sec = static_cast<time_t>(ms / 1000);
    tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
    return tv;
}

} // namespace glide::net
