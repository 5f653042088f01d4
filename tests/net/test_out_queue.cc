// OutQueue and ChunkPool without sockets: copies and shared payloads in order across chunks,
// partial consumption at every boundary, the shared payload held until written, nothing held
// once empty, and the pool's reuse.
#include <cstring>
#include <string>

#include "net/out_queue.h"
// cmocka last: its macros clash with the standard library's headers.
#include "glide_cmocka.h"

using glide::net::ChunkPool;
using glide::net::OutQueue;

namespace {

// Everything queued, front to back, as peek sees it.
std::string contents(const OutQueue &q) {
    iovec iov[256];
    size_t bytes = 0;
    int n = q.peek(iov, 256, &bytes);
    std::string s;
    for (int i = 0; i < n; i++)
        s.append(static_cast<const char *>(iov[i].iov_base), iov[i].iov_len);
    assert_int_equal(s.size(), bytes);
    return s;
}

void test_order_and_consume(void **) {
    ChunkPool pool;
    auto shared = std::make_shared<const std::string>(std::string(3000, 'S'));
    // Builds the same queue again and again; consumes it in steps of `step` bytes.
    for (size_t step : {1, 7, 13, 1000, 2048, 5000, 100000}) {
        OutQueue q;
        std::string want;
        const std::string big(5000, 'B');
        assert_true(q.append(pool, "ab", 2));
        want += "ab";
        assert_true(q.append_shared(pool, "HH", 2, shared));
        want += "HH" + *shared;
        assert_true(q.append(pool, "cd", 2)); // a new chunk: the last one has a payload
        want += "cd";
        assert_true(q.append(pool, big.data(), big.size())); // larger than a standard chunk
        want += big;
        assert_true(q.append_shared(pool, "K", 1, shared));
        want += "K" + *shared;
        assert_int_equal(q.size(), want.size());
        assert_true(contents(q) == want);
        assert_int_equal(shared.use_count(), 3);
        size_t done = 0;
        while (done < want.size()) {
            size_t n = std::min(step, want.size() - done);
            q.consume(pool, n);
            done += n;
            assert_int_equal(q.size(), want.size() - done);
            assert_true(contents(q) == want.substr(done));
        }
        assert_true(q.empty());
        assert_int_equal(shared.use_count(), 1); // released once written
    }
    assert_true(pool.spare() > 0);
    assert_true(pool.spare() <= ChunkPool::kMaxSpare);
}

void test_peek_limit_and_clear(void **) {
    ChunkPool pool;
    OutQueue q;
    auto shared = std::make_shared<const std::string>(std::string(2000, 'x'));
    for (int i = 0; i < 10; i++)
        assert_true(q.append_shared(pool, "h", 1, shared));
    iovec iov[4];
    size_t bytes = 0;
    assert_int_equal(q.peek(iov, 4, &bytes), 4);
    assert_int_equal(bytes, 2 * 2001);
    assert_int_equal(shared.use_count(), 11);
    q.clear(pool);
    assert_true(q.empty());
    assert_int_equal(shared.use_count(), 1);
    assert_int_equal(q.peek(iov, 4, &bytes), 0);
    assert_int_equal(bytes, 0);
    // The pool keeps at most kMaxSpare chunks.
    OutQueue many;
    for (size_t i = 0; i < 2 * ChunkPool::kMaxSpare; i++)
        assert_true(many.append_shared(pool, "h", 1, shared));
    many.clear(pool);
    assert_int_equal(pool.spare(), ChunkPool::kMaxSpare);
}

// A header and its payload in one append: one chunk when they fit in the tail's room or a new
// chunk, a big chunk when they do not fit a standard one; either part may be empty.
void test_append_two_parts(void **) {
    ChunkPool pool;
    OutQueue q;
    std::string want;
    const std::string big(3000, 'B');
    const std::string fill(ChunkPool::kChunkBytes / 2, 'f');
    assert_true(q.append(pool, "h1", 2, "payload", 7));
    want += "h1payload";
    assert_true(q.append(pool, "", 0, "p", 1));
    want += "p";
    assert_true(q.append(pool, "h", 1, nullptr, 0));
    want += "h";
    assert_true(q.append(pool, "H", 1, fill.data(), fill.size())); // fits in the tail's room
    assert_true(q.append(pool, "H", 1, fill.data(), fill.size())); // does not
    want += "H" + fill + "H" + fill;
    assert_true(q.append(pool, "hh", 2, big.data(), big.size())); // past a standard chunk
    want += "hh" + big;
    assert_true(q.append(pool, "t", 1, "ail", 3));
    want += "tail";
    assert_int_equal(q.size(), want.size());
    assert_true(contents(q) == want);
    iovec iov[8];
    size_t bytes = 0;
    // Each header went with its payload into one chunk: the first chunk, the filler's, the big
    // one's (sized to fit it exactly), then a standard one for the last.
    assert_int_equal(q.peek(iov, 8, &bytes), 4);
    assert_int_equal(iov[0].iov_len, 2 + 7 + 1 + 1 + 1 + fill.size());
    assert_int_equal(iov[1].iov_len, 1 + fill.size());
    assert_int_equal(iov[2].iov_len, 2 + big.size());
    assert_int_equal(iov[3].iov_len, 4);
    q.consume(pool, 5);
    assert_true(contents(q) == want.substr(5));
    q.clear(pool);
    assert_true(q.empty());
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_consume),
        cmocka_unit_test(test_peek_limit_and_clear),
        cmocka_unit_test(test_append_two_parts),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
