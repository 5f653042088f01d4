// IntrusiveList (common/intrusive_list.h): FIFO order, O(1) removal from any place, an element
// in two lists through two hooks, and a removed element that can be linked again.
#include <vector>

#include "common/intrusive_list.h"

#include "glide_cmocka.h"

namespace {

struct Item {
    int id;
    glide::ListHook<Item> a;
    glide::ListHook<Item> b;
};
using ListA = glide::IntrusiveList<Item, &Item::a>;
using ListB = glide::IntrusiveList<Item, &Item::b>;

std::vector<int> ids(const ListA &l) {
    std::vector<int> out;
    for (Item *i = l.front(); i; i = ListA::next(*i))
        out.push_back(i->id);
    return out;
}

void test_fifo_and_remove(void **) {
    Item x{1, {}, {}}, y{2, {}, {}}, z{3, {}, {}};
    ListA l;
    assert_true(l.empty());
    l.push_back(x);
    l.push_back(y);
    l.push_back(z);
    assert_int_equal(l.size(), 3);
    assert_true(ids(l) == (std::vector<int>{1, 2, 3}));
    l.remove(y); // the middle
    assert_false(y.a.linked());
    assert_true(ids(l) == (std::vector<int>{1, 3}));
    assert_ptr_equal(ListA::prev(z), &x);
    l.remove(z); // the tail
    assert_ptr_equal(l.back(), &x);
    l.push_front(z);
    assert_true(ids(l) == (std::vector<int>{3, 1}));
    l.insert_after(&z, y);
    assert_true(ids(l) == (std::vector<int>{3, 2, 1}));
    assert_ptr_equal(l.pop_front(), &z);
    assert_ptr_equal(l.pop_front(), &y);
    assert_ptr_equal(l.pop_front(), &x);
    assert_null(l.pop_front());
    assert_true(l.empty());
    assert_null(l.back());
    assert_int_equal(l.size(), 0);
}

void test_two_hooks(void **) {
    Item x{1, {}, {}}, y{2, {}, {}};
    ListA la;
    ListB lb;
    la.push_back(x);
    la.push_back(y);
    lb.push_back(y);
    lb.push_back(x);
    la.remove(x);
    assert_true(ids(la) == (std::vector<int>{2}));
    assert_true(x.b.linked());
    assert_ptr_equal(lb.front(), &y);
    assert_ptr_equal(ListB::next(y), &x);
    la.push_back(x); // linked again after removal
    assert_true(ids(la) == (std::vector<int>{2, 1}));
}

} // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_and_remove),
        cmocka_unit_test(test_two_hooks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
