#!/usr/bin/python3
"""glided with `store postgresql://…` end to end, against a PostgreSQL the test starts itself
(initdb into a temporary directory, the server on a unix socket there and a free loopback port,
run as the postgres user when root, killed and removed at the end whatever happens):

- `glided -t`: a malformed URI is a configuration error with file:line; at start, an unreachable
  database is a clear error naming host and database, within the connect timeout;
- the crash test of store_test.py: while A pipelines 10,000 chat messages to offline B, glided is
  SIGKILLed; after a restart B's login replays every acknowledged message (distinct mids = acked
  count), A's retries of the unacknowledged cliMids never store twice;
- PostgreSQL killed (immediate shutdown: no checkpoint, crash recovery at restart) and restarted
  while A sends: glided stays up, fails the calls promptly (notify.error, no ack), logs the loss
  and the recovery once each, reconnects by itself; nothing acknowledged is lost, nothing stored
  twice;
- two glided nodes on one database: mids never collide, and a message sent through node 1 to an
  offline user is replayed at that user's login on node 2.

Skips (with the closing "0 passed, 0 failed, 1 skipped") only when PostgreSQL is not installed.
Run from the repository root with B set to the build directory."""

import asyncio
import ctypes
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import store_test as st  # noqa: E402  (its glided, login, pipelined sender and replay)
from store_test import check, login, replay, recv_json, chat  # noqa: E402

TIMEOUT = st.TIMEOUT


def pg_bindir():
    try:
        d = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
        if d and os.access(os.path.join(d, "initdb"), os.X_OK):
            return d
    except OSError:
        pass
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    """A throwaway server; the postmaster is our child and gets SIGQUIT if we die."""

    def __init__(self, bindir, tmp):
        self.bin = bindir
        self.dir = os.path.join(tmp, "pg")
        os.mkdir(self.dir, 0o700)
        self.user = None
        if os.geteuid() == 0:
            self.user = pwd.getpwnam("postgres")
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
        self.port = free_port()
        self.proc = None
        out = subprocess.run([os.path.join(self.bin, "initdb"), "-D", self.data(), "-U", "glide",
                              "-A", "trust", "-E", "UTF8", "--no-sync", "--locale=C"],
                             preexec_fn=self.demote, capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError("initdb failed: " + out.stdout + out.stderr)
        self.start()
        self.psql("postgres", "CREATE DATABASE glide")

    def data(self):
        return os.path.join(self.dir, "data")

    def demote(self):
        if self.user:
            os.setgid(self.user.pw_gid)
            os.setuid(self.user.pw_uid)
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGQUIT)  # PR_SET_PDEATHSIG, after setuid (which clears it)

    def start(self):
        log = open(os.path.join(self.dir, "server.log"), "a")
        self.proc = subprocess.Popen(
            [os.path.join(self.bin, "postgres"), "-D", self.data(), "-k", self.dir,
             "-p", str(self.port), "-c", "listen_addresses=127.0.0.1",
             "-c", "max_connections=40", "-c", "shared_buffers=32MB"],
            preexec_fn=self.demote, stdout=log, stderr=log)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("postgres exited: see " + self.dir + "/server.log")
            ok = subprocess.run([os.path.join(self.bin, "pg_isready"), "-q", "-h", self.dir,
                                 "-p", str(self.port)]).returncode == 0
            if ok:
                return
            time.sleep(0.05)
        raise RuntimeError("postgres did not start in 120 s")

    def kill(self):
        """pg_ctl stop -m immediate: SIGQUIT to the postmaster, no checkpoint."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            self.proc.wait()

    def psql(self, db, sql):
        out = subprocess.run([os.path.join(self.bin, "psql"), "-X", "-At", "-v", "ON_ERROR_STOP=1",
                              "-h", self.dir, "-p", str(self.port), "-U", "glide", "-d", db,
                              "-c", sql], capture_output=True, text=True, timeout=TIMEOUT)
        if out.returncode != 0:
            raise RuntimeError("psql: " + out.stderr)
        return out.stdout.strip()

    def tcp_uri(self, db="glide"):
        return "postgresql://glide@127.0.0.1:%d/%s" % (self.port, db)

    def socket_uri(self, db="glide"):
        return "postgresql:///%s?host=%s&port=%d&user=glide" % (db, self.dir, self.port)


def write_conf(path, log, store):
    with open(path, "w") as f:
        # The crash test pipelines its messages far above the rate limits' defaults.
        f.write("load_module %s;\nglide_listen 127.0.0.1:0;\nerror_log %s info;\n"
                "credential_secret \"%s\";\nstore %s;\nglide_limit_message_rate off;\n"
                "glide_limit_user_message_rate off;\n" % (st.MODULE, log, st.SECRET, store))


def log_text(log, offset=0):
    with open(log) as f:
        f.seek(offset)
        return f.read()


async def send_window(ws, cli_mids, to, acked, after_answer=None):
    """Pipelines chat messages with at most WINDOW unanswered; an ack.message fills
    acked[cliMid] = mid, a notify.error (the store failed: no ack) leaves the cliMid out.
    after_answer(message) runs after each answer. Returns the number of notify.error."""
    errors = 0
    pending = 0
    for i, c in enumerate(cli_mids):
        await ws.send(chat(i + 1, to, c))
        pending += 1
        while pending >= st.WINDOW or (i == len(cli_mids) - 1 and pending):
            m = await recv_json(ws)
            if m.get("action") == "ack.message":
                acked[m["data"]["cliMid"]] = m["data"]["mid"]
            elif m.get("action") == "notify.error":
                errors += 1
            else:
                continue
            pending -= 1
            if after_answer:
                after_answer(m)
    return errors


async def send_until_acked(g, uid, cli_mids, to="B", tries=60):
    """Sends every cliMid until each has its ack.message, a round per login. Returns {cliMid:
    mid}."""
    acked = {}
    for _ in range(tries):
        rest = [c for c in cli_mids if c not in acked]
        if not rest:
            break
        ws, _ = await login(g, uid, "pc")
        await send_window(ws, rest, to, acked)
        await ws.close()
        if len(acked) < len(cli_mids):
            await asyncio.sleep(0.2)  # the store is down: a pause before the next round
    return acked


async def crash_glided(g_conf, log, pg):
    """store_test.py's crash test, against PostgreSQL."""
    g = st.Glided(g_conf, log)
    a, r = await login(g, "A", "pc")
    check("glided runs on PostgreSQL, A logs in", r["action"] == "notify.success", str(r))
    pg.psql("glide", "INSERT INTO glide_groups (gid, next_seq) VALUES ('g1', 1);"
            "INSERT INTO glide_members (gid, uid) VALUES ('g1', 'A'), ('g1', 'B')")
    await st.group_checks(g, a)
    g = await st.crash_test(g, g_conf, log, a, lambda: int(
        pg.psql("glide", "SELECT count(*) FROM glide_messages WHERE kind = 0")))
    # B received them all: acknowledge nothing, but clear B's backlog for the next part.
    pg.psql("glide", "DELETE FROM glide_undelivered")
    return g


async def crash_database(g, log, pg):
    """PostgreSQL killed and restarted while A sends to B."""
    total = 3000
    cli_mids = ["d-%05d" % i for i in range(total)]
    offset = os.path.getsize(log)
    acked = {}
    state = {"killed": False, "restarted": False}

    def after_answer(m):
        # The database dies when a quarter is acknowledged, and comes back (its postmaster
        # has exited) once a failure proved that glided saw the loss.
        if not state["killed"] and len(acked) >= total // 4:
            state["killed"] = True
            pg.kill()
        elif state["killed"] and not state["restarted"] and m.get("action") == "notify.error":
            pg.start()
            state["restarted"] = True

    ws, _ = await login(g, "A", "pc")
    errors = await send_window(ws, cli_mids, "B", acked, after_answer)
    if not state["restarted"]:
        pg.start()
    await ws.close()
    check("chats fail while the database is down (%d store failures, no ack for them)" % errors,
          errors > 0 and len(acked) + errors == total, "%d acked, %d errors" % (len(acked), errors))

    # glided answers everything else meanwhile, and reconnects by itself: send the rest until
    # every cliMid is acknowledged.
    rest = [c for c in cli_mids if c not in acked]
    acked2 = await send_until_acked(g, "A", rest)
    check("after the database's restart glided stores again by itself (%d retried)" % len(rest),
          len(acked2) == len(rest), "%d/%d" % (len(acked2), len(rest)))
    text = log_text(log, offset)
    lost_lines = text.count("store postgresql: lost the connection")
    back_lines = text.count("connected again")
    # The failed calls' reason, logged by glided's store services (not once per message).
    refusals = len([ln for ln in text.splitlines() if "[error]" in ln and "is unreachable" in ln])
    check("the loss and the recovery are logged once each (%d, %d; %d call failure lines)"
          % (lost_lines, back_lines, refusals),
          lost_lines <= 1 and back_lines == 1 and refusals <= 2, text[-800:])

    everything = {**acked, **acked2}
    got, _ = await replay(g, "B", "phone", total)
    cli_of = {}
    for m, c in got:
        cli_of.setdefault(c, set()).add(m)
    check("nothing acknowledged was lost: B has %d distinct messages" % total,
          len({m for m, _ in got}) == total and all(everything[c] in cli_of.get(c, ())
                                                    for c in cli_mids),
          str(len({m for m, _ in got})))
    check("no cliMid stored twice across the database's crash",
          all(len(s) == 1 for s in cli_of.values()) and
          int(pg.psql("glide", "SELECT count(*) FROM glide_messages "
                               "WHERE substring(cli_mid from 1 for 2) = 'd-'::bytea")) == total)


async def two_nodes(tmp, pg):
    """Two glided processes sharing the database, one through TCP, one through the socket."""
    logs, nodes = [], []
    for i, uri in enumerate((pg.tcp_uri(), pg.socket_uri())):
        conf = os.path.join(tmp, "node%d.conf" % (i + 1))
        logs.append(os.path.join(tmp, "node%d.log" % (i + 1)))
        write_conf(conf, logs[-1], uri)
        nodes.append(st.Glided(conf, logs[-1]))
    n = 500
    results = await asyncio.gather(
        send_until_acked(nodes[0], "U1", ["n1-%d" % i for i in range(n)], to="R"),
        send_until_acked(nodes[1], "U2", ["n2-%d" % i for i in range(n)], to="R"))
    mids1 = set(results[0].values())
    mids2 = set(results[1].values())
    check("two nodes sending at once: %d + %d acknowledged, no mid shared" % (len(mids1),
                                                                            len(mids2)),
          len(mids1) == n and len(mids2) == n and not (mids1 & mids2))
    got, r = await replay(nodes[1], "R", "phone", 2 * n)
    node1_cli = {c for _, c in got if c.startswith("n1-")}
    check("a message sent through node 1 to an offline user is replayed at its login on node 2",
          r["action"] == "notify.success" and len(node1_cli) == n, str(len(node1_cli)))
    for g in nodes:
        g.stop()


def glided_t(conf):
    return subprocess.run([st.GLIDED, "-t", "-c", conf], capture_output=True, text=True,
                          timeout=TIMEOUT)


async def main(tmp, bindir):
    # The configuration checks need no server.
    conf = os.path.join(tmp, "bad.conf")
    log = os.path.join(tmp, "error.log")
    write_conf(conf, log, "postgresql://glide:secret@db1/chat?colour=red")
    p = glided_t(conf)
    check("glided -t refuses a malformed URI with file:line, the password hidden",
          p.returncode != 0 and ('invalid value "postgresql://glide:***@db1/chat?colour=red" in '
                                 '"store" directive, invalid URI query parameter: "colour" in %s:5'
                                 % conf) in p.stderr and "secret" not in p.stderr, p.stderr)
    write_conf(conf, log, "postgresql://glide@127.0.0.1:%d/chat" % free_port())
    p = glided_t(conf)
    check("glided -t accepts a well-formed URI (without connecting)", p.returncode == 0, p.stderr)
    t0 = time.time()
    p = subprocess.run([st.GLIDED, "-c", conf], capture_output=True, text=True, timeout=TIMEOUT)
    check("an unreachable database stops glided at start, naming host and database",
          p.returncode > 0 and 'cannot connect to database "chat" on host "127.0.0.1"' in p.stderr
          and time.time() - t0 < TIMEOUT, p.stderr.strip())

    pg = Postgres(bindir, tmp)
    try:
        conf = os.path.join(tmp, "glided.conf")
        write_conf(conf, log, pg.tcp_uri())
        g = await crash_glided(conf, log, pg)
        await crash_database(g, log, pg)
        check("glided exits 0 on SIGTERM", g.stop() == 0)
        await two_nodes(tmp, pg)
        # A schema from a newer glided is refused at start.
        pg.psql("glide", "UPDATE glide_schema SET version = 99")
        p = subprocess.run([st.GLIDED, "-c", conf], capture_output=True, text=True,
                           timeout=TIMEOUT)
        check("a schema written by a newer glided stops glided with a clear error",
              p.returncode > 0 and "schema version 99 was written by a newer glided" in p.stderr,
              p.stderr.strip())
    finally:
        pg.kill()


def run():
    bindir = pg_bindir()
    if not bindir:
        print("skipped: no PostgreSQL (initdb not found: apt-get install postgresql)")
        print("0 passed, 0 failed, 1 skipped")
        return 0
    tmp = tempfile.mkdtemp(prefix="glide-store-pg-test.")
    os.chmod(tmp, 0o711)  # the server, as postgres, reaches its directory inside
    t0 = time.time()
    try:
        asyncio.run(main(tmp, bindir))
    except Exception:
        traceback.print_exc()
        check("the test ran to its end", False)
    finally:
        for p in st.running:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print("(%.1f s)" % (time.time() - t0))
    print("%d passed, %d failed" % (st.passed, st.failed))
    return 0 if st.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(run())
