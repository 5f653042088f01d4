#!/usr/bin/python3
"""glided on a full disk (issue 19 item 5), store sqlite on a small tmpfs this test mounts:

A sends PENDING (300: more than two replay pages of 128) chat messages to offline B and has
each acknowledged; glided stops; the tmpfs is filled to the last block; glided starts again:
it must start (it logs why it opened the file in exclusive locking mode), answer a write
with notify.error ("database or disk is full") instead of an ack, and replay to B, logged in on
the full disk, every acknowledged message in mid order. Then space is freed, with B still
online: A's refused message, sent again with its cliMid, is acknowledged and reaches B live,
and B's receipts are stored again: B's receipts from the full disk were lost, so its next login
gets those messages again (at least once), and once it acknowledged them with space, a last
login gets nothing.

The store-fault injection that does not need a mount is tests/hub (test_replay_retries_
store_fault) and tests/module/test_e2e_limits (test_replay_store_fault). Without root or
without mount(8) this test is skipped and says why.

Reuses tests/host/store/store_test.py's glided, credentials and client helpers.
Run from the repository root with B set to the build directory. Prints one line per check and
"N passed, N failed"; exits non-zero on any failure."""

import asyncio
import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import store_test as st  # noqa: E402

PENDING = 300  # > 2 replay pages (128 a page)
TIMEOUT = st.TIMEOUT
check = st.check


def mount_tmpfs(path):
    """Mounts a 4 MiB tmpfs on path; None, or why it cannot."""
    if os.geteuid() != 0:
        return "not root: mounting a tmpfs needs root"
    try:
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0711", "glide-fulldisk",
                            path], capture_output=True, text=True, timeout=TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "mount -t tmpfs failed: %s" % e
    if p.returncode != 0:
        return "mount -t tmpfs failed: " + (p.stderr.strip() or "exit %d" % p.returncode)
    return None


def fill(path):
    """Writes zeros to path until the file system has no block left; the bytes written."""
    n = 0
    chunk = bytes(65536)
    with open(path, "wb", buffering=0) as f:
        try:
            while True:
                n += f.write(chunk[:4096] if n and os.statvfs(path).f_bavail < 16 else chunk)
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise
    return n


def ack(mid, cli_mid):
    return json.dumps({"seq": 0, "action": "ack.request",
                       "data": {"mid": mid, "from": "B", "to": "A", "cliMid": cli_mid}})


async def receive(ws, expect, acknowledge):
    """Collects message.chat on ws until `expect` distinct mids came and then nothing for 2 s,
    acknowledging each with ack.request when told. The list of (mid, cliMid)."""
    got = []
    mids = set()
    try:
        while True:
            m = await st.recv_json(ws, 2 if len(mids) >= expect else TIMEOUT)
            if m.get("action") == "message.chat":
                d = m["data"]
                got.append((d["mid"], d["cliMid"]))
                mids.add(d["mid"])
                if acknowledge:
                    await ws.send(ack(d["mid"], d["cliMid"]))
    except asyncio.TimeoutError:
        pass
    return got


async def answer(ws, cli_mid):
    """The server's answer to A's message cli_mid: ack.message or notify.error."""
    while True:
        m = await st.recv_json(ws)
        if m.get("action") == "ack.message" and m["data"].get("cliMid") == cli_mid:
            return m
        if m.get("action") == "notify.error":
            return m


async def scenario(tmp, disk):
    conf = os.path.join(tmp, "glided.conf")
    log = os.path.join(tmp, "error.log")  # off the full disk: the log must say why
    with open(conf, "w") as f:
        # A sends its messages as fast as they are acknowledged: above the rate limits' defaults.
        f.write("load_module %s;\nglide_listen 127.0.0.1:0;\nerror_log %s info;\n"
                "credential_secret \"%s\";\nstore sqlite %s/glide.db;\n"
                "glide_limit_message_rate off;\nglide_limit_user_message_rate off;\n"
                % (st.MODULE, log, st.SECRET, disk))

    g = st.Glided(conf, log)
    a, _ = await st.login(g, "A", "pc")
    cli_mids = ["f-%03d" % i for i in range(PENDING)]
    acked = {}
    await st.send_all(a, cli_mids, acked)
    check("A's %d messages to offline B are acknowledged" % PENDING, len(acked) == PENDING,
          str(len(acked)))
    await a.close()
    check("glided exits 0 on SIGTERM", g.stop() == 0)

    filled = fill(os.path.join(disk, "fill"))
    free = os.statvfs(disk).f_bavail
    check("the tmpfs is full (%d bytes written, %d blocks free)" % (filled, free), free == 0)

    try:
        g = st.Glided(conf, log)
    except RuntimeError as e:
        check("glided starts on the full disk", False, str(e))
        return
    check("glided starts on the full disk", True)
    with open(log) as f:
        text = f.read()[g.offset:]
    check("its log says the disk is full and how the file was opened",
          "the disk is full" in text and "exclusive locking mode" in text, text.strip())

    a, r = await st.login(g, "A", "pc")
    check("A logs in on the full disk", r["action"] == "notify.success", str(r))
    await a.send(st.chat(1, "B", "f-late"))
    r = await answer(a, "f-late")
    check("a write on the full disk is answered notify.error with the reason",
          r["action"] == "notify.error" and "database or disk is full" in str(r.get("data")),
          str(r))

    b, r = await st.login(g, "B", "phone")
    check("B logs in on the full disk", r["action"] == "notify.success", str(r))
    got = await receive(b, PENDING, True)
    mids = [m for m, _ in got]
    lost = [c for c, m in acked.items() if m not in set(mids)]
    check("B's replay on the full disk has every acknowledged message (%d received)" % len(got),
          not lost, "%d lost, e.g. %s" % (len(lost), lost[:3]))
    check("... under the acknowledged mids, in mid order",
          all(acked.get(c) == m for m, c in got) and mids == sorted(mids))

    os.unlink(os.path.join(disk, "fill"))
    await a.send(st.chat(2, "B", "f-late"))
    r = await answer(a, "f-late")
    check("with space freed, the refused message sent again is acknowledged",
          r["action"] == "ack.message", str(r))
    late = r.get("data", {}).get("mid")
    got = await receive(b, 1, True)
    check("... and reaches B, still online, live", [m for m, _ in got] == [late], str(got))
    await b.close()

    # B's receipts from the full disk were not stored: its next login gets those messages
    # again, not the one it acknowledged with space; it acknowledges them all now.
    b, _ = await st.login(g, "B", "phone")
    got = await receive(b, PENDING, True)
    mids = {m for m, _ in got}
    check("B's next login gets again what it acknowledged on the full disk (%d), "
          "not what it acknowledged with space" % len(mids),
          set(acked.values()) <= mids and late not in mids, "%d mids" % len(mids))
    await b.close()
    b, _ = await st.login(g, "B", "phone")
    got = await receive(b, 0, True)
    check("with space, B's receipts are stored: its last login gets nothing", got == [],
          "%d messages" % len(got))
    await b.close()
    await a.close()
    check("glided exits 0 on SIGTERM after the full disk", g.stop() == 0)


def main():
    # The tmpfs first, on a directory of its own: without it the test is skipped.
    disk = tempfile.mkdtemp(prefix="glide-fulldisk-test.disk.")
    why = mount_tmpfs(disk)
    if why:
        os.rmdir(disk)
        print("skipped: " + why + " (the injected store faults are tested in tests/hub and "
              "tests/module/test_e2e_limits)")
        print("0 passed, 0 failed, 1 skipped")
        return 0

    def unmount(_):
        # After glided is gone: a mount in use cannot be unmounted.
        if subprocess.run(["umount", disk], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", disk], capture_output=True)
        shutil.rmtree(disk, ignore_errors=True)

    return st.run_test(lambda tmp: scenario(tmp, disk), "glide-fulldisk-test.", release=unmount)


if __name__ == "__main__":
    sys.exit(main())
