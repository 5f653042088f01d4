// The Store interface's shared cases (store_suite.h) on each backend: memory, SQLite and
// PostgreSQL (a throwaway server, tests/support/pg_server.h; its cases are skipped, and say so,
// when PostgreSQL is not installed).
#include <cstdlib>
#include <string>

#include "host/store/memory_backend.h"
#include "host/store/pg_store.h"
#include "host/store/sqlite_store.h"
#include "store_suite.h"
#include "support/pg_server.h"

using namespace glide;

int main() {
    suite::Backend memory{"memory", [](event_base *, bool) -> std::unique_ptr<store::Store> {
                              return std::make_unique<store::MemoryBackend>();
                          }};
    memory.durable = false;

    char tmpl[] = "/tmp/glide-suite-test.XXXXXX";
    std::string dir = mkdtemp(tmpl);
    int files = 0;
    suite::Backend sqlite{"sqlite", [&](event_base *base, bool fresh) -> std::unique_ptr<store::Store> {
                              if (fresh)
                                  files++;
                              auto r = store::SqliteStore::open(
                                  base, dir + "/" + std::to_string(files) + ".db",
                                  store::SqliteStore::Sync::normal);
                              if (!r)
                                  fail_msg("%s", r.error().c_str());
                              return std::move(r.value());
                          }};
    sqlite.commits = [](store::Store &s) { return static_cast<store::SqliteStore &>(s).commits(); };

    testing::PgServer pg;
    std::string error;
    bool have_pg = pg.start(error);
    if (!have_pg && !error.empty()) {
        fprintf(stderr, "cannot start PostgreSQL: %s\n", error.c_str());
        return 1;
    }
    int dbs = 0;
    suite::Backend postgresql{"postgresql", [&](event_base *base, bool fresh) -> std::unique_ptr<store::Store> {
                                  if (fresh && !pg.create_db("suite" + std::to_string(++dbs)))
                                      fail_msg("CREATE DATABASE failed");
                                  auto r = store::PgStore::open(base, pg.uri("suite" + std::to_string(dbs)));
                                  if (!r)
                                      fail_msg("%s", r.error().c_str());
                                  return std::move(r.value());
                              }};
    postgresql.commits = [](store::Store &s) { return static_cast<store::PgStore &>(s).commits(); };

    std::vector<CMUnitTest> tests = suite::tests(memory);
    for (const CMUnitTest &t : suite::tests(sqlite))
        tests.push_back(t);
    if (have_pg)
        for (const CMUnitTest &t : suite::tests(postgresql))
            tests.push_back(t);
    else
        printf("skipped: no PostgreSQL (the postgresql backend's cases)\n");
    int failed = _cmocka_run_group_tests("store backends", tests.data(), tests.size(), nullptr,
                                         nullptr);
    std::string cmd = "rm -rf '" + dir + "'";
    if (system(cmd.c_str()) != 0)
        failed++;
    return failed;
}
