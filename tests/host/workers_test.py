#!/usr/bin/python3
"""glided's worker processes (worker_processes, design.md §6) end to end, with a redis-server
started here on a free loopback port for the cluster bus that joins the workers:

 1. glided -t refuses, with file:line: worker_processes > 1 (or auto resolving to > 1) without
    glide_cluster or with glide_cluster off, store memory with worker processes or with a
    cluster, a glide_listen port 0 with worker processes, values out of 1..64;
 2. worker_processes 1 is one process, as before: the pid file names it, no child;
 3. worker_processes 2: the pid file names the master; two workers, nodes NAME.0 and NAME.1;
    both accept on the one glide_listen address (SO_REUSEPORT); two users on different workers
    chat through the bus; every worker serves the admin API on the master's socket;
 4. one shared SQLite file: a burst of chat messages from senders on both workers, each
    message also sent again with the same (from, cliMid) from the sender's other device on the
    other worker at once: every one acknowledged (no "database is locked"), both copies with
    the same mid, each (from, cliMid) stored once;
 5. a worker killed with SIGKILL is restarted (logged with its pid and signal) under a fresh
    index and accepts; replacements that keep dying within a second are started after a
    back-off (250 ms, logged);
 6. SIGUSR1 reopens the logs of the master and of every worker;
 7. SIGHUP with a bad file keeps the workers, and so does one whose new workers cannot
    listen; with a good one new workers start, the old ones drain (a session there is closed
    1001) and exit, and are not restarted;
 8. SIGTERM: every process exits, the master with 0, and the pid file is removed;
 9. a worker that cannot listen (the port taken) makes glided exit 1 at start;
10. workers exit when their master dies (SIGKILL of the master).

Everything is killed and removed at the end, also when a check fails (cluster_test.run; a
worker whose master was killed follows it). Skips only when redis-server is not installed. Run from the repository root with B set to the build
directory; prints one line per check and "N passed, N failed"; exits non-zero on a failure."""

import asyncio
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
# The cluster test's checks (and their counts), processes, redis-server and WebSocket client
# (its credential secret too).
import cluster_test  # noqa: E402
from cluster_test import (SECRET, Client, Redis, Timeout, check, free_port,  # noqa: E402
                          spawn, tail, tcp_peer_ports, wait_until)

B = os.environ.get("B", "build")
GLIDED = os.path.abspath(os.path.join(B, "glided"))
MODULE = os.path.abspath(os.path.join(B, "libglide.so"))
TIMEOUT = 20  # seconds for any single wait
BURST = 500  # chat messages per sender in the shared-store burst
SENDERS = 4


def alive(pid):
    """Whether pid runs (a zombie does not)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return sorted(int(p) for p in f.read().split() if alive(int(p)))
    except OSError:
        return []


class Glided:
    """glided on a configuration of its own; with worker_processes > 1 self.proc is the
    master. name and url() make it a node for cluster_test's Client."""

    def __init__(self, tmp, name, lines):
        self.name = name
        self.tmp = tmp
        self.log = os.path.join(tmp, name + ".log")
        self.out = os.path.join(tmp, name + ".out")
        self.conf = os.path.join(tmp, name + ".conf")
        self.pidfile = os.path.join(tmp, name + ".pid")
        self.port = free_port()
        self.admin_port = free_port()
        self.proc = None
        self.write(lines)

    def write(self, lines):
        with open(self.conf, "w") as f:
            f.write("load_module %s;\n" % MODULE +
                    "error_log %s info;\n" % self.log +
                    "pid %s;\n" % self.pidfile +
                    "glide_node_id %s;\n" % self.name +
                    "glide_listen 127.0.0.1:%d;\n" % self.port +
                    'credential_secret "%s";\n' % SECRET +
                    # The shared-store burst sends thousands of messages at once.
                    "glide_limit_message_rate off;\n" +
                    "glide_limit_user_message_rate off;\n" +
                    "admin_listen 127.0.0.1:%d;\n" % self.admin_port +
                    "admin_token off;\n" +
                    "shutdown_timeout 2s;\n" +
                    "".join(line + "\n" for line in lines))

    def text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def count(self, s):
        return self.text().count(s)

    def start(self, ready):
        open(self.log, "a").close()
        self.mark = len(self.text())
        self.proc = spawn([GLIDED, "-c", self.conf], self.out)

        def up():
            if self.proc.poll() is not None:
                raise RuntimeError("glided exited with %s: %s %s" % (
                    self.proc.returncode, tail(self.out), tail(self.log)))
            return ready in self.text()[self.mark:]
        wait_until("glided to log \"%s\"" % ready, up)

    def url(self):
        return "ws://127.0.0.1:%d/ws" % self.port

    def workers(self):
        return children(self.proc.pid)

    def holder(self, port):
        """The worker holding the connection whose client side is `port` (None: not yet)."""
        for pid in self.workers():
            if port in tcp_peer_ports(pid):
                return pid
        return None

    def connect_raw(self):
        """A TCP connection to the glide listener and the worker that took it."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT)
        port = s.getsockname()[1]
        try:
            return s, wait_until("a worker to take the connection from port %d" % port,
                                 lambda: self.holder(port), timeout=TIMEOUT)
        except Timeout:
            s.close()
            raise

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return "killed after %d s" % TIMEOUT
        return self.proc.returncode


def serving(g):
    """How many of g's workers have said they serve."""
    text = g.text()
    n = 0
    for pid in g.workers():
        m = re.search(r"started worker process %d \(index (\d+)\)" % pid, text)
        n += bool(m and (" worker %s started, " % m.group(1)) in text)
    return n


def http_get(port, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=TIMEOUT) as r:
        return r.status, r.read().decode()


# --- 1, 2: glided -t and one process -------------------------------------------------------

def refusals(tmp, redis_url):
    def t(name, lines, listen="127.0.0.1:8083"):
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write("load_module %s;\nglide_listen %s;\n" % (MODULE, listen))
            f.write("".join(line + "\n" for line in lines))
        p = subprocess.run([GLIDED, "-t", "-c", path], capture_output=True, text=True,
                           timeout=TIMEOUT)
        return path, p.returncode, p.stderr.strip()

    def refused(what, lines, text, line, **kw):
        path, rc, err = t("t.conf", lines, **kw)
        check("glided -t refuses %s: %s in file:line" % (what, text),
              rc == 1 and ("%s in %s:%d" % (text, path, line)) in err, "rc %s: %s" % (rc, err))

    db = "store sqlite %s;" % os.path.join(tmp, "t.db")
    needs = ('"worker_processes" greater than 1 needs "glide_cluster": the workers are nodes '
             'of the cluster bus')
    refused("worker_processes 2 without glide_cluster", [db, "worker_processes 2;"], needs, 4)
    refused("worker_processes 2 with glide_cluster off",
            ["worker_processes 2;", db, "glide_cluster off;"], needs, 3)
    if (os.cpu_count() or 1) > 1:
        refused("worker_processes auto (%d CPUs) without glide_cluster" % os.cpu_count(),
                ["worker_processes auto;"], needs, 3)
    cluster = "glide_cluster %s;" % redis_url
    refused("store memory with worker processes",
            ["worker_processes 2;", cluster, "store memory;"],
            "store memory cannot be shared by worker processes", 5)
    refused("store memory with a cluster", [cluster, "store memory;"],
            "store memory cannot be shared by the nodes of a cluster", 4)
    refused("glide_listen port 0 with worker processes", ["worker_processes 2;", cluster, db],
            '"glide_listen" port 0 cannot be shared by worker processes, each would listen on '
            'a port of its own,', 2, listen="127.0.0.1:0")
    for bad in ("0", "65", "x", "-1"):
        refused("worker_processes %s" % bad, ["worker_processes %s;" % bad],
                'invalid value "%s" in "worker_processes" directive, it must be "auto" or '
                'between 1 and 64' % bad, 3)
    path, rc, err = t("ok.conf", ["worker_processes 4;", cluster, db])
    check("glided -t accepts worker_processes 4 with glide_cluster and store sqlite",
          rc == 0 and "test is successful" in err, "rc %s: %s" % (rc, err))


def one_process(tmp):
    g = Glided(tmp, "single", ["worker_processes 1;", "store sqlite %s;" %
                               os.path.join(tmp, "single.db")])
    g.start("started, 1 module(s)")
    pid = open(g.pidfile).read().strip()
    check("worker_processes 1: one process, named by the pid file, without children",
          pid == str(g.proc.pid) and not g.workers() and "master process" not in g.text(),
          "pid file %s, glided %d, children %s" % (pid, g.proc.pid, g.workers()))
    rc = g.stop()
    check("worker_processes 1: SIGTERM, exit 0, pid file removed",
          rc == 0 and not os.path.exists(g.pidfile), "exit %s" % rc)


# --- 3 .. 8: two workers --------------------------------------------------------------------

async def login(g, uid, device, on=None, avoid=None):
    """A session of uid/device on g, on the worker `on` or on a worker other than `avoid`
    (new connections until one lands there)."""
    for _ in range(40):
        c = await Client(g, uid, device).login()
        pid = g.holder(c.ws.local_address[1])
        if (on is None or pid == on) and (avoid is None or pid != avoid):
            c.worker = pid
            return c
        await c.close()
    raise RuntimeError("no session of %s/%s on the worker wanted" % (uid, device))


async def chat_across(g):
    bob = await login(g, "bob", "phone")
    alice = await login(g, "alice", "phone", avoid=bob.worker)
    try:
        await alice.chat("bob", "across-1")
        ack = await alice.acked("across-1")
        got = await bob.wait(lambda m: m["action"] == "message.chat" and
                             m["data"].get("cliMid") == "across-1", "message.chat across-1")
        check("alice on worker %s chats with bob on worker %s (the bus between workers)" %
              (alice.worker, bob.worker),
              ack and ack["action"] == "ack.message" and got and
              got["data"]["mid"] == ack["data"]["mid"],
              "%s; %s" % (alice.describe(), bob.describe()))
    finally:
        await alice.close()
        await bob.close()


async def shared_store(g, db):
    """Senders on both workers; every message sent by both devices of its sender at once."""
    workers = g.workers()
    pairs = []
    for i in range(SENDERS):
        a = await login(g, "s%d" % i, "d1", on=workers[i % 2])
        b = await login(g, "s%d" % i, "d2", on=workers[(i + 1) % 2])
        pairs.append((a, b))
    try:
        t0 = time.monotonic()
        for n in range(BURST):
            for a, b in pairs:
                cli = "%s-%d" % (a.uid, n)
                await a.chat("sink", cli)
                await b.chat("sink", cli)

        def acks(c):
            return {m["data"]["cliMid"]: m["data"]["mid"] for m in c.of("ack.message")}
        for a, b in pairs:
            await a.until(lambda: len(acks(a)) >= BURST or a.of("notify.error"), TIMEOUT * 2)
            await b.until(lambda: len(acks(b)) >= BURST or b.of("notify.error"), TIMEOUT * 2)
        took = time.monotonic() - t0
        errors = [m for a, b in pairs for c in (a, b) for m in c.of("notify.error")]
        complete = all(len(acks(c)) == BURST for a, b in pairs for c in (a, b))
        same = all(acks(a) == acks(b) for a, b in pairs)
        mids = [m for a, _ in pairs for m in acks(a).values()]
        check("shared SQLite: %d messages, each sent at once from two workers, all "
              "acknowledged in %.1f s without an error" % (SENDERS * BURST * 2, took),
              complete and not errors, "errors %s" % errors[:3])
        check("shared SQLite: both copies of a (from, cliMid) got the same mid, mids distinct",
              same and len(set(mids)) == len(mids) == SENDERS * BURST)
    finally:
        for a, b in pairs:
            await a.close()
            await b.close()
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT count(*), count(DISTINCT sender || ' ' || cli_mid) FROM "
                           "messages WHERE receiver = 'sink'").fetchone()
    finally:
        con.close()
    check("shared SQLite: each (from, cliMid) stored once (%d rows)" % rows[0],
          rows[0] == rows[1] == SENDERS * BURST, "rows %s" % (rows,))


async def drained_by_reload(g, old):
    """A session on an old worker; returns it, for the reload to close."""
    return await login(g, "carol", "phone", on=old)


def lifecycle(tmp, redis_url):
    db = os.path.join(tmp, "shared.db")
    lines = ["worker_processes 2;", "glide_cluster %s;" % redis_url, "store sqlite %s;" % db]
    g = Glided(tmp, "w", lines)
    g.start("started, 2 worker processes")
    master = g.proc.pid
    workers = g.workers()
    check("the pid file names the master", open(g.pidfile).read().strip() == str(master))
    check("two worker processes, children of the master", len(workers) == 2, str(workers))
    check("the workers are nodes w.0 and w.1", 'node id "w.0"' in g.text() and
          'node id "w.1"' in g.text(), tail(g.log))

    seen, socks = set(), []
    try:
        for _ in range(200):
            s, pid = g.connect_raw()
            socks.append(s)
            seen.add(pid)
            if seen == set(workers):
                break
    finally:
        for s in socks:
            s.close()
    check("both workers accept on %s (SO_REUSEPORT), %d connections" % (g.url(), len(socks)),
          seen == set(workers), "taken by %s" % seen)
    answers = [http_get(g.admin_port, "/healthz")[0] for _ in range(6)]
    check("the workers serve the admin API on the master's socket", answers == [200] * 6,
          str(answers))

    asyncio.run(chat_across(g))
    asyncio.run(shared_store(g, db))

    # 5: a worker killed
    victim = workers[0]
    os.kill(victim, signal.SIGKILL)
    wait_until("the master to start a worker in place of %d" % victim,
               lambda: len(g.workers()) == 2 and victim not in g.workers())
    new = [p for p in g.workers() if p not in workers][0]
    wait_until("worker 2 to serve", lambda: " worker 2 started, " in g.text())
    check("a worker killed with SIGKILL is logged and started again under a fresh index",
          ("worker process %d (index 0) was killed by signal 9" % victim) in g.text() and
          ("started worker process %d (index 2)" % new) in g.text(), tail(g.log))
    s, pid = None, None
    for _ in range(100):
        s, pid = g.connect_raw()
        s.close()
        if pid == new:
            break
    check("the new worker accepts", pid == new)

    def started_pids():
        return [int(p) for p in re.findall(r"started worker process (\d+)", g.text())]
    backoff = "starting a worker process in its place in 250 ms"
    for _ in range(8):  # kill each replacement right after its fork
        before = started_pids()
        os.kill(started_pids()[-1], signal.SIGKILL)
        wait_until("a replacement", lambda: len(started_pids()) > len(before) or
                   backoff in g.text())
        if backoff in g.text():
            break
    check("workers dying within a second of their start are replaced after a back-off",
          backoff in g.text(), tail(g.log))
    wait_until("two workers serving again", lambda: serving(g) == 2)

    # 6: SIGUSR1
    os.rename(g.log, g.log + ".1")
    os.kill(master, signal.SIGUSR1)
    workers = g.workers()
    wait_until("every process to reopen its log",
               lambda: all("%d: log reopened" % p in g.text() for p in [master] + workers))
    check("SIGUSR1 reopens the log of the master and of each worker", True)

    # 7: SIGHUP, bad then good
    g.write(lines + ["glide_max_message_size lots;"])
    os.kill(master, signal.SIGHUP)
    wait_until("the bad reload to be refused",
               lambda: "reload failed, the running configuration is kept" in g.text())
    check("SIGHUP with a bad file: refused with file:line, the workers stay",
          ('invalid value "lots" in "glide_max_message_size" directive in %s:%d' %
           (g.conf, open(g.conf).read().count("\n")))
          in g.text() and g.workers() == workers, tail(g.log))

    with socket.socket() as taken:  # new workers that cannot listen
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        g.write(lines + ["glide_listen 127.0.0.1:%d;" % taken.getsockname()[1]])
        os.kill(master, signal.SIGHUP)
        wait_until("the reload to fail", lambda: "reload failed: a new worker process ended, "
                   "the running configuration is kept" in g.text())
        wait_until("the new workers to be gone", lambda: g.workers() == workers)
    check("SIGHUP whose new workers cannot listen: they are stopped, the old workers stay",
          "Address already in use" in g.text() and "configuration reloaded" not in g.text())

    async def reload():
        carol = await drained_by_reload(g, workers[0])
        g.write(lines + ["glide_max_message_size 1m;"])
        os.kill(master, signal.SIGHUP)
        wait_until("the new workers to serve", lambda: "configuration reloaded" in g.text())
        closed = await carol.wait_closed()
        code = carol.close_code
        await carol.close()
        return closed, code
    closed, code = asyncio.run(reload())
    wait_until("the master to log the old workers' exits", lambda: all(
        re.search(r"worker process %d \(index \d+\) exited with code 0" % p, g.text())
        for p in workers))
    now = g.workers()
    check("SIGHUP: two new workers serve, the old ones drained (session closed %s) and exited "
          "with 0, not restarted" % code,
          closed and code == 1001 and len(now) == 2 and not set(now) & set(workers) and
          not any(alive(p) for p in workers) and "in its place" not in g.text(), tail(g.log))
    s, pid = g.connect_raw()
    s.close()
    check("a new worker accepts after the reload", pid in now)

    # 8: SIGTERM
    t0 = time.monotonic()
    rc = g.stop()
    check("SIGTERM: the master exits 0 in %.1f s, the workers are gone, the pid file removed"
          % (time.monotonic() - t0),
          rc == 0 and not any(alive(p) for p in now) and not os.path.exists(g.pidfile),
          "exit %s; %s" % (rc, tail(g.log)))
    return g


def start_failure(tmp, redis_url):
    g = Glided(tmp, "taken", ["worker_processes 2;", "glide_cluster %s;" % redis_url,
                              "store sqlite %s;" % os.path.join(tmp, "taken.db")])
    with socket.socket() as s:
        s.bind(("127.0.0.1", g.port))
        s.listen(1)
        p = spawn([GLIDED, "-c", g.conf], g.out)
        try:
            rc = p.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = "still running"
    check("a worker that cannot listen: glided exits 1 at start",
          rc == 1 and "the worker processes could not start, glided stops" in g.text() and
          "Address already in use" in g.text() and not os.path.exists(g.pidfile),
          "exit %s; %s" % (rc, tail(g.log)))


def orphans(g):
    g.start("started, 2 worker processes")
    workers = g.workers()
    g.proc.kill()
    g.proc.wait()
    try:
        wait_until("the workers to exit", lambda: not any(alive(p) for p in workers))
        gone = True
    except Timeout:
        gone = False
    check("the workers exit when their master dies (SIGKILL)", gone and len(workers) == 2,
          str([p for p in workers if alive(p)]))


def main(tmp):
    r = Redis(tmp, 0)
    r.start()
    print("# 1-2 configuration, one process", flush=True)
    refusals(tmp, r.url())
    one_process(tmp)
    print("# 3-8 two workers", flush=True)
    g = lifecycle(tmp, r.url())
    print("# 9-10 a failed start, a dead master", flush=True)
    start_failure(tmp, r.url())
    orphans(g)
    reports = []
    for name in os.listdir(tmp):
        if name.endswith(".out"):
            with open(os.path.join(tmp, name), errors="replace") as f:
                reports += [line.strip() for line in f
                            if "Sanitizer" in line or "runtime error:" in line]
    check("no sanitizer report in glided's output", not reports, " | ".join(reports[:5]))


if __name__ == "__main__":
    sys.exit(cluster_test.run(main, "glide-workers-test."))
