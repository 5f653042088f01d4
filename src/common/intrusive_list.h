// An intrusive doubly linked FIFO: the element carries its own links (a ListHook member), so
// linking and unlinking allocate nothing and cost O(1). One element may sit in several lists
// at once through several hooks. The list owns nothing: removing an element, or destroying the
// list, leaves the element as it was (an element must be unlinked before it is freed).
//
//   struct Conn { ListHook<Conn> flush_hook; ... };
//   IntrusiveList<Conn, &Conn::flush_hook> queue;
//   queue.push_back(c); if (c.flush_hook.linked()) queue.remove(c); Conn *first = queue.front();
#pragma once

#include <cstddef>

namespace glide {

template <typename T>
struct ListHook {
    T *prev = nullptr;
    T *next = nullptr;
    bool in = false;
    bool linked() const { return in; }
};

template <typename T, ListHook<T> T::*Hook>
class IntrusiveList {
public:
    IntrusiveList() = default;
    IntrusiveList(const IntrusiveList &) = delete;
    IntrusiveList &operator=(const IntrusiveList &) = delete;

    bool empty() const { return head_ == nullptr; }
    size_t size() const { return size_; }
    T *front() const { return head_; }
    T *back() const { return tail_; }
    static T *next(const T &e) { return (e.*Hook).next; }
    static T *prev(const T &e) { return (e.*Hook).prev; }

    void push_back(T &e) { insert_after(tail_, e); }
    void push_front(T &e) { insert_after(nullptr, e); }

    // Links `e` after `pos` (nullptr: at the front). `e` must not be linked.
    void insert_after(T *pos, T &e) {
        ListHook<T> &h = e.*Hook;
        h.prev = pos;
        h.next = pos ? (pos->*Hook).next : head_;
        if (h.next)
            (h.next->*Hook).prev = &e;
        else
            tail_ = &e;
        if (pos)
            (pos->*Hook).next = &e;
        else
            head_ = &e;
        h.in = true;
        ++size_;
    }

    // Unlinks `e`, which must be in this list.
    void remove(T &e) {
        ListHook<T> &h = e.*Hook;
        if (h.prev)
            (h.prev->*Hook).next = h.next;
        else
            head_ = h.next;
        if (h.next)
            (h.next->*Hook).prev = h.prev;
        else
            tail_ = h.prev;
        h = ListHook<T>{};
        --size_;
    }

    T *pop_front() {
        T *e = head_;
        if (e)
            remove(*e);
        return e;
    }

private:
    T *head_ = nullptr;
    T *tail_ = nullptr;
    size_t size_ = 0;
};

} // namespace glide
