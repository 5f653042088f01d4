#!/usr/bin/python3
"""Group messages reach members who were offline (glide(7) "Group messages and the replay at
login"), end to end through glided across a restart, with JSON and protobuf clients (the
WebSocket subprotocol glide.protobuf), on store sqlite and then on store postgresql (a server
the test starts itself, as tests/host/store/store_pg_test.py does; skipped without PostgreSQL):

A publishes 1,000 messages to group "team" (created through the admin API) while
  - B (JSON) and P (protobuf) are offline throughout;
  - C reads 1..300 live (JSON), then leaves once the store has its cursor at 300;
  - D is added after 300 (admin API), E removed after 500;
and glided is SIGKILLed after 700 and restarted (the last 300 are published after the
restart). A then sends each of them one chat message, the marker. At login (C and E with
protobuf) each gets, before its marker, exactly the group messages said while it was a member
that it was not sent, in sequence order, as message.group from A with the mids A was
acknowledged: B and P 1..1000, C and D 301..1000, E (removed) nothing. The replay interleaves
group and one-to-one messages by mid, so a message that does not belong would come before the
marker: the marker proves the replay went past where it would be. While each is online the
store gets its cursor to the last message; then B's second device gets nothing again but its
marker (which it did not acknowledge).

Reuses tests/host/cluster_test.py's glided node, client (both codecs) and admin API helpers,
and store_pg_test.py's PostgreSQL server.
Run from the repository root with B set to the build directory. Prints one line per check and
"N passed, N failed"; exits non-zero on any failure."""

import asyncio
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# store_test.py and store_pg_test.py live with the store's tests (tests/host/store/).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "store"))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import cluster_test as ct  # noqa: E402
import store_pg_test as pgt  # noqa: E402

TOTAL = 1000
WINDOW = 100  # group messages in flight
TIMEOUT = ct.TIMEOUT

store_name = ""  # the store of the scenario running, before every check's name


def check(name, cond, detail=""):
    pgt.st.check(store_name + name, cond, detail)


def sqlite_cursor(db):
    """uid's delivery cursor in "team" as the SQLite store has committed it (None: not a
    member)."""
    def cursor(uid):
        with sqlite3.connect(db, timeout=TIMEOUT) as c:
            row = c.execute("SELECT delivered_mid FROM members WHERE gid = 'team' AND uid = ?",
                            (uid,)).fetchone()
        return row[0] if row else None
    return cursor


def pg_cursor(pg):
    """The same in PostgreSQL (uids are plain ASCII here: no quoting needed)."""
    def cursor(uid):
        out = pg.psql("glide", "SELECT delivered_mid FROM glide_members WHERE gid = 'team'::bytea "
                               "AND uid = '%s'::bytea" % uid)
        return int(out) if out else None
    return cursor


async def wait_cursor(cursor, uid, mid):
    """Waits until the store has uid's cursor at mid (the module reports within ~200 ms)."""
    deadline = time.monotonic() + TIMEOUT
    while cursor(uid) != mid:
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def publish(a, first, last, mids):
    """A publishes first..last to "team", WINDOW at a time; mids[seq] = the acknowledged mid."""
    for lo in range(first, last + 1, WINDOW):
        hi = min(last, lo + WINDOW - 1)
        for i in range(lo, hi + 1):
            await a.chat("team", "g-%d" % i, "m %d" % i, action="message.group")
        for i in range(lo, hi + 1):
            r = await a.acked("g-%d" % i)
            if not r or r["action"] != "ack.message":
                raise RuntimeError("group message %d not acknowledged: %s" % (i, r))
            mids[r["data"]["seq"]] = r["data"]["mid"]


def group_ok(msgs, mids, first, last):
    """msgs are exactly the group messages first..last, in order, as A published them."""
    want = list(range(first, last + 1))
    seqs = [(m.get("data") or {}).get("seq") for m in msgs]
    if seqs != want:
        return False, "seqs %s…%s (%d), want %d…%d" % (seqs[:3], seqs[-3:], len(seqs), first,
                                                        last)
    for m in msgs:
        d = m["data"]
        if (d.get("mid") != mids[d["seq"]] or m.get("from") != "A" or m.get("to") != "team" or
                d.get("from") != "A" or d.get("to") != "team" or
                d.get("content") != "m %d" % d["seq"] or d.get("cliMid") != "g-%d" % d["seq"]):
            return False, "message %s" % m
    return True, ""


async def replayed(node, uid, device, codec, marker_mid, settle=None):
    """Logs uid in and returns the messages that came before its marker chat (mid marker_mid),
    or None when the marker did not come. settle: a coroutine awaited before logging out (a
    session that ends right after its replay leaves what it was last sent uncounted)."""
    c = await ct.Client(node, uid, device, codec).login()
    marker = await c.wait(lambda m: m["action"] == "message.chat" and
                          (m.get("data") or {}).get("mid") == marker_mid,
                          "the marker", timeout=TIMEOUT)
    before = []
    for m in c.msgs:
        if m is marker:
            break
        if m["action"] in ("message.group", "message.chat"):
            before.append(m)
    if settle:
        await settle
    await c.close()
    return before if marker else None


async def scenario(tmp, name, store, cursor):
    """The whole scenario on a glided whose store directive is `store`; checks are prefixed
    with `name`."""
    global store_name
    store_name = name + ": "
    node = ct.Node(tmp, name, None, os.path.join(tmp, "unused.db"))
    with open(node.conf) as f:
        conf = f.read()
    with open(node.conf, "w") as f:
        f.write("\n".join(line if not line.startswith("store ") else "store %s;" % store
                          for line in conf.split("\n")))
    node.start()
    mids = {}
    st, r = ct.admin(node, "POST", "/v1/groups",
                     {"gid": "team", "members": ["A", "B", "C", "E", "P"]})
    check("the group is created through the admin API", st == 201, "%s %s" % (st, r))

    a = await ct.Client(node, "A", "pc", "json").login()
    c = await ct.Client(node, "C", "pc", "json").login()
    await publish(a, 1, 300, mids)
    live = await c.until(lambda: len(c.of("message.group")) >= 300 and c.of("message.group"))
    ok, why = group_ok(c.of("message.group"), mids, 1, 300)
    check("C, online, gets 1..300 live", live and ok, why)
    check("the store has C's cursor at 300 once its connection took them",
          await wait_cursor(cursor, "C", mids[300]), "cursor %s" % cursor("C"))
    await c.close()
    ct.wait_until("C's session to end", lambda: ct.admin(node, "GET", "/v1/sessions?uid=C")[1]
                  .get("count") == 0)

    st, _ = ct.admin(node, "PUT", "/v1/groups/team/members/D")
    check("D is added after 300", st in (200, 201, 204), str(st))
    await publish(a, 301, 500, mids)
    st, _ = ct.admin(node, "DELETE", "/v1/groups/team/members/E")
    check("E is removed after 500", st in (200, 204), str(st))
    await publish(a, 501, 700, mids)
    await a.close()

    node.kill()
    open(node.log, "w").close()  # start() reads the ports from the log
    node.start()
    check("glided restarts on the same database after SIGKILL", True)
    a = await ct.Client(node, "A", "pc", "json").login()
    await publish(a, 701, TOTAL, mids)
    check("A's %d group messages are acknowledged, sequences 1..%d" % (TOTAL, TOTAL),
          sorted(mids) == list(range(1, TOTAL + 1)))
    markers = {}
    for uid in ("B", "P", "C", "D", "E"):
        await a.chat(uid, "marker-" + uid)
        r = await a.acked("marker-" + uid)
        markers[uid] = r["data"]["mid"]
    await a.close()

    expect = [("B", "json", 1), ("P", "pb", 1), ("C", "pb", 301), ("D", "json", 301),
              ("E", "pb", None)]
    for uid, codec, first in expect:
        t0 = time.monotonic()
        settled = [None]

        async def settle():
            settled[0] = await wait_cursor(cursor, uid, mids[TOTAL])
        before = await replayed(node, uid, "phone", codec, markers[uid],
                                settle() if first else None)
        if before is None:
            check("%s (%s) gets its marker at login" % (uid, codec), False)
            continue
        if first is None:
            check("%s (%s), removed, gets no group message at login" % (uid, codec),
                  before == [], "%d messages" % len(before))
            continue
        ok, why = group_ok(before, mids, first, TOTAL)
        check("%s (%s) gets exactly %d..%d at login, in sequence order, as A published them "
              "(%.2f s)" % (uid, codec, first, TOTAL, time.monotonic() - t0), ok, why)
        check("the store has %s's cursor at the last message while it is online" % uid,
              settled[0], "cursor %s" % cursor(uid))
    check("E has no cursor (not a member)", cursor("E") is None)

    before = await replayed(node, "B", "tablet", "json", markers["B"])
    check("B's second device gets no group message again",
          before == [], "%d messages" % len(before or []))
    check("glided exits 0 on SIGTERM", node.stop() == 0)


async def main(tmp):
    db = os.path.join(tmp, "glide.db")
    await scenario(tmp, "sqlite", "sqlite " + db, sqlite_cursor(db))
    bindir = pgt.pg_bindir()
    if not bindir:
        print("skipped: the postgresql run (initdb not found: apt-get install postgresql)")
        return
    pg = pgt.Postgres(bindir, tmp)
    try:
        await scenario(tmp, "postgresql", pg.socket_uri(), pg_cursor(pg))
    finally:
        pg.kill()


if __name__ == "__main__":
    sys.exit(pgt.st.run_test(main, "glide-group-replay-test.", [ct.running]))
