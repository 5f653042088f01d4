#!/usr/bin/python3
"""glided's embedded host services end to end, over real sockets with Python's `websockets`:

- credential auth: a credential minted here, independently of glide's code (AES-256-CBC with the
  openssl command line, key = first 32 bytes of secret || SHA-512(""), unpadded base64; checked
  against protocol.md's test vector first), logs in; an expired one gets "credential expired", one
  sealed with another secret "invalid authenticate message";
- store sqlite: the data directory is created on first run (relative to the configuration);
  groups made by a direct SQLite insert work, and their sequence continues after a restart;
- the crash test: while A pipelines 10,000 chat messages to offline B, glided is killed with
  SIGKILL. After a restart B's login replays every message whose ack.message A had received;
  A then retries every message it had not seen acknowledged (same cliMid), and a final login of
  B finds each cliMid stored exactly once, under the mid A was acknowledged with.

Run from the repository root with B set to the build directory. Prints one line per check and
"N passed, N failed"; exits non-zero on any failure."""

import asyncio
import base64
import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback

import websockets

B = os.environ.get("B", "build")
GLIDED = os.path.abspath(os.path.join(B, "glided"))
MODULE = os.path.abspath(os.path.join(B, "libglide.so"))
SECRET = "e2e store secret"
TIMEOUT = 30  # seconds for any single wait; generous for a loaded machine
TOTAL = 10000
WINDOW = 256  # chat messages in flight

passed = 0
failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok - " + name)
    else:
        failed += 1
        print("not ok - " + name + (" (" + detail + ")" if detail else ""))


# --- credentials, independently of glide's code ---------------------------------------------------

def mint_text(secret, plaintext, iv):
    key = (secret.encode() + hashlib.sha512(b"").digest())[:32]
    out = subprocess.run(["openssl", "enc", "-aes-256-cbc", "-K", key.hex(), "-iv", iv.hex()],
                         input=plaintext.encode(), capture_output=True, check=True).stdout
    return base64.b64encode(iv + out).decode().rstrip("=")


def mint(secret, uid, device, ts_ms):
    body = json.dumps({"type": 2, "user_id": uid, "device_id": device, "device_name": device,
                       "secrets": {"message_deliver_secret": ""}, "timestamp": ts_ms},
                      separators=(",", ":"))
    return mint_text(secret, body, os.urandom(16))


def now_ms():
    return int(time.time() * 1000)


# --- glided --------------------------------------------------------------------------------------

class Glided:
    def __init__(self, conf, log):
        self.log = log
        self.offset = os.path.getsize(log) if os.path.exists(log) else 0
        self.proc = subprocess.Popen([GLIDED, "-c", conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        running.append(self.proc)
        self.port = None
        deadline = time.time() + TIMEOUT
        while time.time() < deadline and self.proc.poll() is None:
            with open(log) if os.path.exists(log) else open(os.devnull) as f:
                f.seek(self.offset)
                m = re.search(r"listening on 127\.0\.0\.1:(\d+)", f.read())
            if m:
                self.port = int(m.group(1))
                break
            time.sleep(0.05)
        if self.port is None:
            err = self.proc.stderr.read() if self.proc.poll() is not None else ""
            raise RuntimeError("glided did not start: " + err)

    def url(self):
        return "ws://127.0.0.1:%d/ws" % self.port

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode


async def recv_json(ws, timeout=TIMEOUT):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def wait_action(ws, action, timeout=TIMEOUT):
    while True:
        m = await recv_json(ws, timeout)
        if m.get("action") == action:
            return m


async def connect(g):
    ws = await websockets.connect(g.url(), max_size=None, ping_interval=None)
    await wait_action(ws, "hello")
    return ws


async def login(g, uid, device, cred=None, seq=1):
    ws = await connect(g)
    cred = cred or mint(SECRET, uid, device, now_ms())
    await ws.send(json.dumps({"seq": seq, "action": "authenticate",
                              "data": {"version": 1, "credential": cred}}))
    while True:
        m = await recv_json(ws)
        if m.get("action") in ("notify.success", "notify.error"):
            return ws, m


def chat(seq, to, cli_mid):
    return json.dumps({"seq": seq, "action": "message.chat", "to": to,
                       "data": {"cliMid": cli_mid, "type": 1, "content": "m " + cli_mid,
                                "sendAt": 1}})


async def send_all(ws, cli_mids, acked):
    """Pipelines chat messages to B with at most WINDOW unacknowledged; fills acked[cliMid] =
    mid. Returns when all were acknowledged; raises when the connection drops."""
    window = asyncio.Semaphore(WINDOW)
    want = set(cli_mids)

    async def reader():
        try:
            while not want.issubset(acked):
                m = await recv_json(ws)
                if m.get("action") == "ack.message":
                    acked[m["data"]["cliMid"]] = m["data"]["mid"]
                    window.release()
        finally:
            for _ in range(WINDOW):  # unblock the sender
                window.release()

    task = asyncio.ensure_future(reader())
    for i, c in enumerate(cli_mids):
        await window.acquire()
        if task.done():
            break
        try:
            await ws.send(chat(i + 1, "B", c))
        except websockets.ConnectionClosed:
            break
    await task  # raises what ended the reader


async def replay(g, uid, device, expect):
    """Logs uid in and collects the replayed message.chat: at least `expect` distinct mids, and
    whatever follows without a pause. Returns (list of (mid, cliMid), login reply)."""
    ws, r = await login(g, uid, device)
    got = []
    mids = set()
    try:
        while True:  # until `expect` arrived and then nothing more for 2 s
            m = await recv_json(ws, 2 if len(mids) >= expect else TIMEOUT)
            if m.get("action") == "message.chat":
                got.append((m["data"]["mid"], m["data"]["cliMid"]))
                mids.add(m["data"]["mid"])
    except asyncio.TimeoutError:
        pass
    await ws.close()
    return got, r


async def group_send(g, ws, gid, cli):
    await ws.send(json.dumps({"seq": 3, "action": "message.group", "to": gid,
                              "data": {"cliMid": cli, "type": 1, "content": "g"}}))
    while True:
        m = await recv_json(ws)
        if m.get("action") in ("ack.message", "notify.error"):
            return m


async def group_checks(g, a):
    """A sends twice to group g1 (members A and B, made by the caller) and once to a group that
    does not exist."""
    seqs = [(await group_send(g, a, "g1", "g-%d" % i)).get("data", {}) for i in range(2)]
    check("group messages get sequences 1, 2",
          [s.get("seq") for s in seqs] == [1, 2], str(seqs))
    r = await group_send(g, a, "nope", "g-x")
    check("a group that does not exist is refused",
          r["action"] == "notify.error" and r["data"] == "channel does not exist", str(r))


async def crash_test(g, conf, log, a, count_chats):
    """The crash: while `a` (A, logged in on g) pipelines TOTAL chat messages to offline B,
    glided is killed with SIGKILL and restarted; B's login replays every acknowledged message,
    A's retries of the unacknowledged ones store nothing twice, group g1's sequence (A sent
    2 messages there) continues. count_chats() reads how many one-to-one messages the store
    holds. Returns the restarted glided."""
    # The crash: kill while A's messages are in flight.
    cli_mids = ["c-%05d" % i for i in range(TOTAL)]
    acked = {}
    killer_at = TOTAL // 4

    async def kill_when_ready():
        while len(acked) < killer_at:
            await asyncio.sleep(0.005)
        g.kill()

    killer = asyncio.ensure_future(kill_when_ready())
    t0 = time.time()
    try:
        await send_all(a, cli_mids, acked)
    except (websockets.ConnectionClosed, asyncio.TimeoutError, ConnectionError):
        pass
    await killer
    before = dict(acked)
    check("glided was killed mid-stream (%d of %d acknowledged in %.1f s)"
          % (len(before), TOTAL, time.time() - t0), killer_at <= len(before) < TOTAL)

    g = Glided(conf, log)
    got, r = await replay(g, "B", "phone", len(before))
    mids = {m for m, _ in got}
    by_cli = {}
    for m, c in got:
        by_cli.setdefault(c, set()).add(m)
    lost = [c for c in before if before[c] not in mids]
    check("after SIGKILL and restart every acknowledged message is replayed to B",
          r["action"] == "notify.success" and not lost, "%d lost, e.g. %s" % (len(lost), lost[:3]))
    check("replayed mids match the acknowledgements (%d distinct mids, %d acked)"
          % (len(mids), len(before)), all(by_cli.get(c) == {m} for c, m in before.items()))
    check("no cliMid stored twice before the retry", all(len(s) == 1 for s in by_cli.values()))

    # Retry what A did not see acknowledged, with the same cliMids.
    a, _ = await login(g, "A", "pc")
    rest = [c for c in cli_mids if c not in before]
    acked2 = {}
    await send_all(a, rest, acked2)
    check("every retry is acknowledged", len(acked2) == len(rest), "%d/%d" % (len(acked2), len(rest)))
    committed_unacked = [c for c in rest if c in by_cli]
    check("a retry of a message stored before the crash answers its first mid (%d such)"
          % len(committed_unacked),
          all(by_cli[c] == {acked2[c]} for c in committed_unacked))

    # The sequence continues after the restart.
    r = await group_send(g, a, "g1", "g-after")
    check("group sequence continues after restart", r.get("data", {}).get("seq") == 3, str(r))
    await a.close()

    everything = {**before, **acked2}
    got, _ = await replay(g, "B", "phone", TOTAL)
    cli_of = {}
    for m, c in got:
        cli_of.setdefault(c, set()).add(m)
    check("B finally has %d distinct messages" % TOTAL,
          len({m for m, _ in got}) == TOTAL, str(len({m for m, _ in got})))
    check("each cliMid stored once, under its acknowledged mid",
          len(cli_of) == TOTAL and all(cli_of[c] == {everything[c]} for c in cli_mids))
    n = count_chats()
    check("the messages table holds each chat message once", n == TOTAL, str(n))
    return g


running = []


async def main(tmp):
    conf = os.path.join(tmp, "glided.conf")
    log = os.path.join(tmp, "error.log")
    with open(conf, "w") as f:
        # The crash test pipelines its messages as fast as the server takes them: far above
        # the rate limits' defaults.
        f.write("load_module %s;\nglide_listen 127.0.0.1:0;\nerror_log %s info;\n"
                "credential_secret \"%s\";\nglide_limit_message_rate off;\n"
                "glide_limit_user_message_rate off;\n" % (MODULE, log, SECRET))
    # The default store: sqlite data/glide.db next to the configuration.
    db = os.path.join(tmp, "data", "glide.db")

    # The independent minting reproduces protocol.md's test vector.
    vec = mint_text("secret_key", '{"user_id":"1002","timestamp":1720000000000,'
                    '"secrets":{"message_deliver_secret":"abc"}}', bytes(range(16)))
    check("minting here reproduces protocol.md's test vector",
          vec.startswith("AAECAwQFBgcICQoLDA0OD96+Kx4aajTfLJgPqiuDXsc7lmDfUv+Ee7np8p9b8BK/"), vec)

    g = Glided(conf, log)
    check("data directory created on first run", os.path.exists(db))

    ws, r = await login(g, "A", "pc")
    check("a credential minted independently authenticates",
          r["action"] == "notify.success", str(r))
    await ws.close()
    _, r = await login(g, "A", "pc", mint(SECRET, "A", "pc", now_ms() - 26 * 60 * 1000))
    check("an expired credential gets credential expired",
          r["action"] == "notify.error" and r["data"] == "credential expired", str(r))
    _, r = await login(g, "A", "pc", mint("another secret", "A", "pc", now_ms()))
    check("another secret's credential is refused",
          r["action"] == "notify.error" and r["data"] == "invalid authenticate message", str(r))

    # A group made by a direct insert (the schema exists: glided created it).
    with sqlite3.connect(db, timeout=TIMEOUT) as c:
        c.execute("INSERT INTO groups (gid, next_seq) VALUES ('g1', 1)")
        c.executemany("INSERT INTO members (gid, uid) VALUES ('g1', ?)", [("A",), ("B",)])
    a, _ = await login(g, "A", "pc")
    await group_checks(g, a)

    def count_chats():
        with sqlite3.connect(db, timeout=TIMEOUT) as c:
            return c.execute("SELECT count(*) FROM messages WHERE kind = 0").fetchone()[0]

    g = await crash_test(g, conf, log, a, count_chats)
    check("glided exits 0 on SIGTERM", g.stop() == 0)

    # A corrupt database file stops glided at start with the path and SQLite's reason.
    with open(db, "r+b") as f:
        f.write(b"this is not a sqlite file header")
    for suffix in ("-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)
    p = subprocess.run([GLIDED, "-c", conf], capture_output=True, text=True, timeout=TIMEOUT)
    check("a corrupt database stops glided with the path and the reason",
          p.returncode != 0 and ('store sqlite "%s": file is not a database' % db) in p.stderr,
          p.stderr.strip())


def run_test(main, tmp_prefix, children=(), release=None):
    """Runs main(tmp) in a temporary directory (mode 0711: a server run as another user reaches
    inside), then kills what is left of `running` and of `children` (lists of processes), calls
    release(tmp) when given (what needs the processes gone: a mount to undo) and removes the
    directory whatever happened; prints the counts. The exit status."""
    tmp = tempfile.mkdtemp(prefix=tmp_prefix)
    os.chmod(tmp, 0o711)
    try:
        asyncio.run(main(tmp))
    except Exception:
        traceback.print_exc()
        check("the test ran to its end", False)
    finally:
        for p in running + [c for group in children for c in group]:
            if p.poll() is None:
                p.kill()
                p.wait()
        if release:
            release(tmp)
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(run_test(main, "glide-store-test."))
