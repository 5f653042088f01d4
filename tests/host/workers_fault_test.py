#!/usr/bin/python3
"""glided with worker_processes 4 (issue 16's acceptance for worker processes), with a
redis-server started here for the cluster bus and one SQLite file:

 1-6. the cluster scenarios of cluster_test.py (chat JSON <-> protobuf with ack.message and
    ack.request -> ack.notify, multi-device, kick-out 4001, groups in seq order, presence, the
    admin API's push, kick, sessions and metrics) between clients on different workers: the
    kernel picks a connection's worker (SO_REUSEPORT), so a scenario's client connects again
    until the worker it needs took the connection (seen in /proc), and the admin API's
    /v1/sessions names that worker's node;
 7. a worker SIGKILLed under traffic: a sender on worker X sends paced chat messages to a
    receiver on worker Y and, after FAULT_AT acknowledgements, Y is SIGKILLed; the master
    logs it and starts a worker in its place; the receiver logs in again (on whichever worker
    takes it) and gets every message the sender had acknowledged; the sender stays connected
    and keeps sending all along;
 8. SIGHUP under the same traffic: new workers start, the old ones drain (the sender's and the
    receiver's sessions are closed 1001) and exit 0; both clients log in again on new workers,
    the sender resends what was not acknowledged with the same cliMid; every message sent is
    acknowledged under exactly one mid and every acknowledged one reaches the receiver;
 9. the same with redis-server stopped (SIGSTOP) from the SIGHUP until the two clients logged
    in again on two different new workers and AFTER_FAULT more messages went out: new workers
    serve before they are on the bus, and what one sent to the other while they were not is
    replayed once they are.
In 7, 8 and 9 the sender sends at least FAULT_TOTAL messages, one every FAULT_PACE seconds, and
goes on until the fault is over and AFTER_FAULT more are sent; the receiver acknowledges each
message with ack.request and counts duplicates (same mid) without failing on them. Then: no
(sender, cliMid) is stored twice, every acknowledged message is stored under its mid; SIGTERM
ends glided with 0; no sanitizer report.

Everything is killed and removed at the end, also when a check fails (cluster_test.run). Skips
only when redis-server is not installed. Run from the repository root with B set to the build
directory; prints one line per check, the fault counts and "N passed, N failed"; exits non-zero
on a failure."""

import asyncio
import os
import re
import signal
import sys
import time

import websockets

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import cluster_test  # noqa: E402
from cluster_test import (Client, Cluster, Redis, admin, check, counts, need,  # noqa: E402
                          tail, tcp_peer_ports, wait_until)
from workers_test import Glided, alive, serving  # noqa: E402

WORKERS = 4
TIMEOUT = cluster_test.TIMEOUT
FAULT_TOTAL = cluster_test.FAULT_TOTAL  # 300 messages at least, one every FAULT_PACE (5 ms)
FAULT_PACE = cluster_test.FAULT_PACE
FAULT_AT = cluster_test.FAULT_AT  # 100 acknowledgements before the fault
AFTER_FAULT = 50  # messages sent once the fault is over (the replacement workers serve)
SEND_CAP = 5000  # the most a sender sends, whatever happens
RETRY = 0.02  # seconds between a failed login and the next attempt


async def poll(what, fn, timeout=TIMEOUT):
    """wait_until for a coroutine: polls fn() without holding up the event loop."""
    deadline = time.monotonic() + timeout
    while True:
        r = fn()
        if r:
            return r
        if time.monotonic() > deadline:
            raise cluster_test.Timeout("waited %d s for %s" % (timeout, what))
        await asyncio.sleep(0.02)


def index_of(g, pid):
    if pid is None:
        return None
    m = re.search(r"started worker process %d \(index (\d+)\)" % pid, g.text())
    return int(m.group(1)) if m else None


class Landing:
    """g as a node for cluster_test's Client: a connection counts only when the worker that
    took it is one that want(pid) accepts (the others are closed and another is made)."""

    def __init__(self, g, name, want):
        self.g, self.name, self.want = g, name, want
        self.admin_port = g.admin_port
        self.tries = self.landed = 0

    def url(self):
        return self.g.url()

    def took(self, port):
        self.tries += 1
        pid = wait_until("a worker to take the connection from port %d" % port,
                         lambda: self.g.holder(port))
        ok = bool(self.want(pid))
        self.landed += ok
        return ok


class Worker(Landing):
    """One worker of g; its name is the worker's node id."""

    def __init__(self, g, pid):
        super().__init__(g, "%s.%d" % (g.name, index_of(g, pid)), lambda p: p == pid)
        self.pid = pid


def worker_of(g, client):
    """The pid of the worker holding client's connection (None once it is gone)."""
    return g.holder(client.ws.local_address[1])


# --- 1-6: the cluster scenarios between workers ----------------------------------------------

def landed(c):
    ws = (c.A, c.B, c.C)
    check("the scenarios' sessions landed on the workers they needed (%s, %s, %s): %d of %d "
          "connections kept" % (c.A.name, c.B.name, c.C.name, sum(w.landed for w in ws),
                                sum(w.tries for w in ws)),
          len({w.pid for w in ws}) == 3 and all(w.landed for w in ws))


# --- 7, 8: faults under traffic --------------------------------------------------------------

class Peer:
    """uid/device logged in on g; when the server closes its session, a new login on whichever
    worker takes the connection. Every session is kept in self.sessions."""

    def __init__(self, c, uid, device, codec="json"):
        self.c, self.g = c, c.g
        self.uid, self.device, self.codec = uid, device, codec
        self.sessions = []
        self.failed_logins = []
        self.rejoin = c.g  # where a new login goes: any worker

    async def connect(self, node=None):
        deadline = time.monotonic() + TIMEOUT
        while True:
            cl = Client(node or self.rejoin, self.uid, self.device, self.codec)
            self.c.clients.append(cl)
            try:
                await cl.login()
                cl.worker = worker_of(self.g, cl)
                cl.at = time.monotonic()
                self.sessions.append(cl)
                return cl
            except (OSError, RuntimeError, websockets.WebSocketException,
                    asyncio.TimeoutError) as e:
                await cl.close()
                self.failed_logins.append("%s: %s" % (type(e).__name__, e))
                if time.monotonic() > deadline:
                    raise RuntimeError("%s/%s could not log in again within %d s: %s" % (
                        self.uid, self.device, TIMEOUT, self.failed_logins[-3:]))
                await asyncio.sleep(RETRY)

    def close_codes(self):
        return [s.close_code for s in self.sessions if s.closed]


class Sender(Peer):
    """Sends paced chat messages to `to`; after a new login it resends every message not yet
    acknowledged, with the same cliMid."""

    def __init__(self, c, uid, device, to, codec="json"):
        super().__init__(c, uid, device, codec)
        self.to = to
        self.sent = []  # cliMids, in sending order
        self.sent_at = []  # when each was first sent
        self.resent = 0
        self.after_fault = 0

    def acks(self):
        """cliMid -> the set of mids it was acknowledged with, over every session."""
        out = {}
        for s in self.sessions:
            for m in s.of("ack.message"):
                out.setdefault(m["data"].get("cliMid"), set()).add(m["data"].get("mid"))
        return out

    def unacked(self):
        acks = self.acks()
        return [cli for cli in self.sent if cli not in acks]

    def errors(self):
        return [m.get("data") for s in self.sessions for m in s.of("notify.error")]

    async def current(self):
        """The open session, after a new login (and the resends) when the last one closed."""
        while True:
            cur = self.sessions[-1]
            if not cur.closed:
                return cur
            cur = await self.connect()
            try:
                for cli in self.unacked():
                    await cur.chat(self.to, cli)
                    self.resent += 1
            except websockets.ConnectionClosed:
                pass  # closed again: the loop logs in once more

    async def run(self, prefix, fault):
        """At least FAULT_TOTAL messages; on until the fault task is done and AFTER_FAULT more
        went out; then waits until every message sent is acknowledged."""
        i = 0
        while (i < FAULT_TOTAL or self.after_fault < AFTER_FAULT) and i < SEND_CAP:
            cur = await self.current()  # first: a new login resends what was sent before
            cli = "%s-%04d" % (prefix, i)
            i += 1
            self.sent.append(cli)
            self.sent_at.append(time.monotonic())
            self.after_fault += fault.done()
            try:
                await cur.chat(self.to, cli)
            except websockets.ConnectionClosed:
                pass  # resent after the next login
            await asyncio.sleep(FAULT_PACE)
        deadline = time.monotonic() + TIMEOUT
        while self.unacked() and time.monotonic() < deadline:
            cur = await self.current()
            await cur.until(lambda: cur.closed or not self.unacked(),
                            max(0, deadline - time.monotonic()))


class Receiver(Peer):
    """Acknowledges every message.chat with ack.request; logs in again whenever its session is
    closed, until cancelled."""

    async def run(self):
        done = 0
        while True:
            cur = self.sessions[-1]
            await cur.until(lambda: cur.closed or len(cur.msgs) > done, TIMEOUT)
            while done < len(cur.msgs):
                m = cur.msgs[done]
                done += 1
                d = m.get("data") or {}
                if m.get("action") != "message.chat":
                    continue
                try:
                    await cur.send("ack.request", {"mid": d.get("mid"), "from": self.uid,
                                                   "to": d.get("from"), "cliMid": d.get("cliMid")},
                                   to=d.get("from"))
                except websockets.ConnectionClosed:
                    pass  # not acknowledged: replayed at the next login
            if cur.closed and done == len(cur.msgs):
                await self.connect()
                done = 0

    def delivered(self, sender):
        """The mids of sender's messages received, over every session, duplicates included."""
        return [m["data"].get("mid") for s in self.sessions
                for m in s.of("message.chat", lambda d: d.get("from") == sender)]


async def session_node(g, uid):
    status, body = await asyncio.to_thread(admin, g, "GET", "/v1/sessions?uid=" + uid)
    ss = body.get("sessions", []) if isinstance(body, dict) else []
    return ss[0].get("node") if status == 200 and len(ss) == 1 else "%s %s" % (status, body)


async def traffic(c, tag, fault_fn):
    """A sender on one worker and a receiver on another; fault_fn(snd, rcv, workers) runs once
    FAULT_AT messages are acknowledged. Returns (sender, receiver, fault's result)."""
    g = c.g
    wanted = [Worker(g, p) for p in sorted(g.workers(), key=lambda p: index_of(g, p))][:2]
    x, y = wanted
    snd = Sender(c, tag + "-snd", "s", tag + "-rcv")
    rcv = Receiver(c, tag + "-rcv", "r", "pb")
    await snd.connect(x)
    await rcv.connect(y)
    # Together: a node SIGKILLed in scenario 7 is asked (one second) until it is known dead.
    nodes = tuple(await asyncio.gather(session_node(g, snd.uid), session_node(g, rcv.uid)))
    need("%s: the sender is on worker %s, the receiver on worker %s (admin API: %s, %s)"
         % (tag, x.name, y.name, nodes[0], nodes[1]), nodes == (x.name, y.name))
    rt = asyncio.ensure_future(rcv.run())

    async def fault():
        await poll("%d acknowledgements" % FAULT_AT, lambda: len(snd.acks()) >= FAULT_AT)
        return await fault_fn(snd, rcv, (x, y))
    ft = asyncio.ensure_future(fault())
    try:
        await snd.run(tag, ft)
        await asyncio.wait_for(ft, TIMEOUT)
        acks = snd.acks()
        want = {mid for mids in acks.values() for mid in mids}
        await poll("every acknowledged message at the receiver",
                   lambda: want <= set(rcv.delivered(snd.uid)) or rt.done())
    except (cluster_test.Timeout, asyncio.TimeoutError):
        pass  # the checks below say what is missing
    finally:
        rt.cancel()
        try:
            await rt
        except asyncio.CancelledError:
            pass
        except Exception as e:
            check("%s: the receiver kept logging in" % tag, False, "%s: %s" % (
                type(e).__name__, e))
        if not ft.done():
            ft.cancel()
            try:
                await ft
            except BaseException:
                pass
    if ft.cancelled():
        return snd, rcv, "the fault did not end within %d s" % TIMEOUT
    return snd, rcv, ft.exception() or ft.result()


def tally(c, tag, what, snd, rcv):
    """The checks and the count line common to both faults; returns the count line."""
    acks = snd.acks()
    unacked = snd.unacked()
    check("%s: every message sent is acknowledged (%d of %d), no notify.error"
          % (tag, len(acks), len(snd.sent)), not unacked and not snd.errors(),
          "%d unacknowledged, e.g. %s; errors %s" % (len(unacked), unacked[:3],
                                                      snd.errors()[:3]))
    multi = {cli: mids for cli, mids in acks.items() if len(mids) != 1}
    flat = [mid for mids in acks.values() for mid in mids]
    check("%s: each message acknowledged under exactly one mid, the mids distinct" % tag,
          not multi and len(set(flat)) == len(flat), "several mids: %s" % list(multi.items())[:3])
    got = rcv.delivered(snd.uid)
    lost = sorted(set(flat) - set(got))
    dups = len(got) - len(set(got))
    back = rcv.sessions[1].at if len(rcv.sessions) > 1 else float("inf")
    counts.append("%s: sent %d (%d of them after the receiver's new login; %d resent after the "
                  "sender's), acked %d, delivered %d distinct (%d duplicates) over %d receiver "
                  "sessions, lost %d"
                  % (what, len(snd.sent), sum(t > back for t in snd.sent_at), snd.resent,
                     len(set(flat)), len(set(got)), dups, len(rcv.sessions), len(lost)))
    check("%s: every acknowledged message reaches the receiver (%d lost)" % (tag, len(lost)),
          not lost, "lost mids %s...; %s" % (lost[:5], counts[-1]))
    c.acked_chats += [(snd.uid, cli, mid) for cli, mids in acks.items() for mid in mids]
    return counts[-1]


async def worker_killed(c):
    g = c.g
    before = g.workers()

    async def kill(snd, rcv, workers):
        y = workers[1]
        acked = len(snd.acks())
        os.kill(y.pid, signal.SIGKILL)
        t0 = time.monotonic()
        await poll("the master to start a worker in place of %d" % y.pid,
                   lambda: y.pid not in g.workers() and len(g.workers()) == WORKERS)
        await poll("%d workers serving" % WORKERS, lambda: serving(g) == WORKERS)
        return acked, y, time.monotonic() - t0

    snd, rcv, result = await traffic(c, "kill", kill)
    need("kill: the worker was killed and replaced", isinstance(result, tuple), str(result))
    acked, y, took = result
    new = [p for p in g.workers() if p not in before]
    logged = ("worker process %d (index %s) was killed by signal 9" % (y.pid, y.name.split(".")[1])
              in g.text())
    check("kill: worker %s SIGKILLed after %d acks; the master logged it and a new worker, %s, "
          "serves %.1f s later" % (y.name, acked, ", ".join(
              "%s.%s" % (g.name, index_of(g, p)) for p in new), took),
          logged and len(new) == 1, tail(g.log))
    back = rcv.sessions[1:2]
    check("kill: the receiver's session ended with the worker (close %s) and it logged in again"
          " on worker %s" % (rcv.close_codes()[:1], back and "%s.%s" % (
              g.name, index_of(g, back[0].worker))),
          back and back[0].worker in g.workers(), "sessions %d; failed logins %s" % (
              len(rcv.sessions), rcv.failed_logins[-3:]))
    check("kill: the sender on worker %s stayed connected the whole time"
          % snd.sessions[0].node.name,
          len(snd.sessions) == 1 and not snd.sessions[0].closed,
          "sessions %d, close codes %s" % (len(snd.sessions), snd.close_codes()))
    tally(c, "kill", "worker %s SIGKILLed" % y.name, snd, rcv)


def node_of(g, pid):
    return "%s.%s" % (g.name, index_of(g, pid))


async def reloaded(c, frozen=False):
    """SIGHUP under traffic; frozen: with redis-server stopped (SIGSTOP) from just before the
    SIGHUP until both clients logged in again on new workers, different ones, and AFTER_FAULT
    more messages went out: the new workers serve before they are on the bus, and the
    messages between them are delivered by the replay once they are."""
    g, r = c.g, c.redis[0]
    tag = "frozen" if frozen else "reload"
    before = g.workers()
    reloads = g.count("configuration reloaded")

    def on_bus(pid):
        return ("connected as node %s\n" % node_of(g, pid)) in g.text()

    async def reload(snd, rcv, workers):
        acked = len(snd.acks())
        off_bus = None
        if frozen:
            snd.rejoin = Landing(g, "an even new worker", lambda p: p not in before and
                                 index_of(g, p) % 2 == 0)
            rcv.rejoin = Landing(g, "an odd new worker", lambda p: p not in before and
                                 index_of(g, p) % 2 == 1)
            r.proc.send_signal(signal.SIGSTOP)
        try:
            g.write(c.lines)
            os.kill(g.proc.pid, signal.SIGHUP)
            t0 = time.monotonic()
            await poll("the new workers to serve",
                       lambda: g.count("configuration reloaded") > reloads)
            if frozen:
                await poll("both clients to log in again", lambda: all(
                    len(p.sessions) > 1 and not p.sessions[-1].closed for p in (snd, rcv)))
                n = len(snd.sent)
                await poll("%d more messages" % AFTER_FAULT,
                           lambda: len(snd.sent) >= n + AFTER_FAULT)
                off_bus = [node_of(g, p.sessions[-1].worker) for p in (snd, rcv)
                           if not on_bus(p.sessions[-1].worker)]
        finally:
            if frozen:
                r.proc.send_signal(signal.SIGCONT)
        await poll("the old workers to exit", lambda: all(
            re.search(r"worker process %d \(index \d+\) exited with code 0" % p, g.text())
            for p in before))
        return acked, time.monotonic() - t0, off_bus

    snd, rcv, result = await traffic(c, tag, reload)
    need("%s: the old workers were replaced" % tag, isinstance(result, tuple), str(result))
    acked, took, off_bus = result
    now = g.workers()
    check("%s: SIGHUP after %d acks; %d new workers serve, the %d old ones drained and exited 0 "
          "in %.1f s, not restarted" % (tag, acked, WORKERS, len(before), took),
          len(now) == WORKERS and not set(now) & set(before) and
          not any(alive(p) for p in before) and g.count("in its place") == c.restarts,
          tail(g.log))
    for p in (snd, rcv):
        # A new login may land on an old worker that has not drained yet, to be closed 1001
        # in its turn: only the last session must be on a new worker.
        last = p.sessions[-1]
        check("%s: %s's sessions on old workers were closed 1001 (%s), it logged in again on "
              "new worker %s" % (tag, p.uid, p.close_codes(), node_of(g, last.worker)),
              len(p.sessions) > 1 and set(p.close_codes()) == {1001} and not last.closed and
              last.worker in now, "workers %s, now %s; failed logins %s" % (
                  [s.worker for s in p.sessions], now, p.failed_logins[-3:]))
    if frozen:
        check("%s: the sender and the receiver were on different new workers, %s, neither on "
              "the bus, while %d messages went out" % (
                  tag, " and ".join(off_bus), AFTER_FAULT), len(off_bus) == 2 and
              off_bus[0] != off_bus[1], "off the bus: %s" % off_bus)
        w = rcv.sessions[-1].worker
        check("%s: the receiver's worker, once on the bus, replayed its undelivered messages "
              "(logged)" % tag,
              ("%s: cluster bus: replaying the undelivered messages" % w) in g.text(),
              tail(g.log))
    tally(c, tag, "SIGHUP" + (" with redis-server stopped" if frozen else ""), snd, rcv)


async def reloaded_frozen(c):
    await reloaded(c, frozen=True)


# --- main ------------------------------------------------------------------------------------

def main(tmp):
    r = Redis(tmp, 0)
    r.start()
    c = Cluster()
    c.node_count = WORKERS
    c.clients, c.acked_chats, c.redis = [], [], [r]
    c.db = os.path.join(tmp, "shared.db")
    c.lines = ["worker_processes %d;" % WORKERS, "glide_cluster %s;" % r.url(),
               "store sqlite %s;" % c.db]
    g = c.g = Glided(tmp, "wf", c.lines)
    g.start("started, %d worker processes" % WORKERS)
    workers = sorted(g.workers(), key=lambda p: index_of(g, p))
    need("%d workers start and connect to redis-server" % WORKERS,
         len(workers) == WORKERS and wait_until(
             "the workers to connect to redis-server",
             lambda: all(r.port in tcp_peer_ports(p) for p in workers)), str(workers))
    c.A, c.B, c.C = (Worker(g, p) for p in workers[:3])

    print("# A, B, C are workers %s, %s, %s" % (c.A.name, c.B.name, c.C.name), flush=True)
    c.restarts = 1  # the master's restarts of a worker: the one killed in scenario 7
    asyncio.run(cluster_test.scenarios(c, cluster_test.ACROSS + (
        ("7 a worker SIGKILLed under traffic", worker_killed),
        ("8 SIGHUP under traffic", reloaded),
        ("9 SIGHUP under traffic, redis-server stopped until the clients are on new workers",
         reloaded_frozen))))
    landed(c)

    last = g.workers()
    rc = g.stop()
    check("SIGTERM: glided exits 0, its workers are gone",
          rc == 0 and not any(alive(p) for p in last), "exit %s; %s" % (rc, tail(g.log)))
    with open(g.out, errors="replace") as f:
        reports = [line.strip() for line in f if "Sanitizer" in line or "runtime error:" in line]
    check("no sanitizer report in glided's output", not reports, " | ".join(reports[:5]))
    print("# the shared store", flush=True)
    cluster_test.s7c_store(c)


if __name__ == "__main__":
    sys.exit(cluster_test.run(main, "glide-workers-fault-test."))
