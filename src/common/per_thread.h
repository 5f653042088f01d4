// A per-thread object for the hot path of a shared library.
#pragma once

namespace glide {

// This thread's T, made at the thread's first get() and destroyed at thread exit.
//
// Why not a plain `thread_local T`: libglide.so is dlopened, so its thread-locals use the
// general-dynamic TLS model, where every access calls __tls_get_addr, and a T with a
// constructor or destructor adds an initialisation guard (itself thread-local) to each use. Here
// the hot path reads one trivially initialised thread_local (a pointer and a flag): one
// __tls_get_addr per get(), no guard. After T's destruction (thread exit) get() returns null
// for good: callers then do without the object.
template <typename T> class PerThread {
public:
    static T *get() {
        State &s = state_;
        if (s.obj || s.gone)
            return s.obj;
        return make();
    }

private:
    struct State {
        T *obj;
        bool gone;
    };
    struct Holder {
        T obj;
        ~Holder() { state_ = {nullptr, true}; } // runs before obj's destructor
    };
    [[gnu::noinline]] static T *make() { return state_.obj = &holder_.obj; }

    static inline thread_local State state_{};
    static inline thread_local Holder holder_;
};

} // namespace glide
