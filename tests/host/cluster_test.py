#!/usr/bin/python3
"""The cluster bus (glide_cluster, design.md §7) end to end: a redis-server started here on a
free loopback port and three glided nodes A, B and C (glide_node_id, their own listeners and
admin API) on one shared SQLite file, with JSON clients and protobuf clients (WebSocket
subprotocol glide.protobuf) spread over the nodes:

 1. chat across nodes both ways, JSON <-> protobuf: ack.message, message.chat with that mid,
    ack.request -> ack.notify;
 2. multi-device across nodes: every device of the receiver gets a message once, the sender's
    other device gets a copy, the sending device does not get its own message back;
 3. a second login of the same uid and device on another node kicks the first (notify.kickout,
    close 4001); the new session keeps working;
 4. a group with members on all three nodes: 50 messages from one publisher, then two
    interleaved publishers on two nodes: each device gets each message once, in seq order;
 5. presence across nodes: api.state.sub -> notify.state; a user is offline when its last
    device anywhere leaves;
 6. the admin API of one node reaches a session on another (push, kick);
 7. faults: redis-server SIGKILLed mid-traffic and restarted (every acknowledged message reaches
    the receiver, whose session stays open); a node SIGKILLed mid-traffic (the receiver logs in
    on another node and gets every acknowledged message); the store never holds a (sender,
    cliMid) twice;
 8. configuration refusals at glided -t: a malformed glide_cluster URL, store memory with a
    cluster.

Everything is killed and removed at the end, also when a check fails. Skips (with the closing
"0 passed, 0 failed, 1 skipped") only when redis-server is not installed. Run from the
repository root with B set to the build directory. Prints one line per check, the fault counts
and "N passed, N failed"; exits non-zero on any failure."""

import asyncio
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

import websockets

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# store_test.py and store_pg_test.py live with the store's tests (tests/host/store/).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "store"))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from store_test import mint, now_ms  # noqa: E402  (glide credentials, minted with openssl)

B = os.environ.get("B", "build")
GLIDED = os.path.abspath(os.path.join(B, "glided"))
MODULE = os.path.abspath(os.path.join(B, "libglide.so"))
SECRET = "cluster test secret"
TOKEN = "cluster-test-token-0123456789"
TIMEOUT = 20  # seconds for any single wait
SCENARIO_LIMIT = 50  # seconds for one scenario, failing waits included
GRACE = 0.4  # seconds to wait for something that must not come (a duplicate, an echo)
REDIS_OUTAGE = 3  # seconds between redis-server's SIGKILL and its restart
# The nodes use the whole URL grammar: a password (redis-server --requirepass) and a DB.
REDIS_PASSWORD = "cluster-redis-pw"
REDIS_DB = 3
FAULT_TOTAL = 300  # messages sent in each fault scenario, one every FAULT_PACE seconds
FAULT_PACE = 0.005
FAULT_AT = 100  # acknowledgements before the fault
AFTER_RESTART = 50  # messages sent right after redis-server's restart
LANDING_TRIES = 200  # connections to make for one that a node's took() accepts
# CLUSTER_TEST_ONE_NODE=1 checks this test itself: one glided without glide_cluster plays A, B
# and C (scenario 7b, which kills B, is left out).
ONE_NODE = os.environ.get("CLUSTER_TEST_ONE_NODE") == "1"
# CLUSTER_TEST_SHARDS=N: N redis-servers, all in every node's glide_cluster (sharding); the
# redis fault then kills and restarts all of them.
SHARDS = int(os.environ.get("CLUSTER_TEST_SHARDS", "1"))

passed = 0
failed = 0
counts = []  # the fault scenarios' numbers, printed at the end


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok - " + name, flush=True)
    else:
        failed += 1
        print("not ok - " + name + (" (" + detail + ")" if detail else ""), flush=True)
    return cond


class Abort(Exception):
    """A scenario cannot go on; its failed check was printed."""


def need(name, cond, detail=""):
    if not check(name, cond, detail):
        raise Abort()


class Timeout(Exception):
    pass


def wait_until(what, fn, timeout=TIMEOUT, interval=0.02):
    """Polls fn() until it returns something true; raises Timeout naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        r = fn()
        if r:
            return r
        if time.monotonic() > deadline:
            raise Timeout("waited %d s for %s" % (timeout, what))
        time.sleep(interval)


# --- processes -------------------------------------------------------------------------------

running = []  # every child, killed at the end whatever happens


def die_with_parent():
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def spawn(args, out_path):
    with open(out_path, "ab") as out:
        p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                             preexec_fn=die_with_parent)
    running.append(p)
    return p


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def tail(path, n=600):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-n:].strip().replace("\n", " | ")
    except OSError:
        return ""


def tcp_peer_ports(pid):
    """The remote ports of pid's established TCP connections (from /proc)."""
    inodes = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                m = re.match(r"socket:\[(\d+)\]", os.readlink("/proc/%d/fd/%s" % (pid, fd)))
            except OSError:
                continue
            if m:
                inodes.add(m.group(1))
    except OSError:
        return set()
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if len(f) > 9 and f[3] == "01" and f[9] in inodes:
                ports.add(int(f[2].rsplit(":", 1)[1], 16))
    return ports


def redis_command(port, *args):
    """One command over RESP, after AUTH; returns the reply (bytes for strings, int, list)."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        for cmd in (("AUTH", REDIS_PASSWORD), args):
            s.sendall(b"*%d\r\n" % len(cmd) + b"".join(
                b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in cmd))
        f = s.makefile("rb")

        def reply():
            line = f.readline().rstrip(b"\r\n")
            kind, rest = line[:1], line[1:]
            if kind == b"+":
                return rest
            if kind == b"-":
                raise RuntimeError(rest.decode())
            if kind == b":":
                return int(rest)
            if kind == b"$":
                n = int(rest)
                return None if n < 0 else f.read(n + 2)[:-2]
            if kind == b"*":
                return [reply() for _ in range(int(rest))]
            raise RuntimeError("bad RESP reply %r" % line)
        reply()  # +OK to AUTH
        return reply()


class Redis:
    def __init__(self, tmp, i):
        self.port = free_port()
        self.log = os.path.join(tmp, "redis-%d.log" % i)
        self.proc = None

    def url(self):
        return "redis://:%s@127.0.0.1:%d/%d" % (REDIS_PASSWORD, self.port, REDIS_DB)

    def ping(self):
        try:
            return redis_command(self.port, "PING") == b"PONG"
        except (OSError, RuntimeError):
            return False

    def start(self):
        self.proc = spawn(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                           "--save", "", "--appendonly", "no", "--daemonize", "no",
                           "--requirepass", REDIS_PASSWORD], self.log)

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError("redis-server exited with %s: %s"
                                   % (self.proc.returncode, tail(self.log)))
            return self.ping()
        wait_until("redis-server to answer PING on 127.0.0.1:%d" % self.port, ready)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


class Node:
    def __init__(self, tmp, name, cluster_url, db):
        self.name = name
        self.log = os.path.join(tmp, "node-%s.log" % name)
        self.out = os.path.join(tmp, "node-%s.out" % name)
        self.conf = os.path.join(tmp, "node-%s.conf" % name)
        open(self.log, "w").close()
        with open(self.conf, "w") as f:
            f.write("load_module %s;\n" % MODULE +
                    "error_log %s info;\n" % self.log +
                    "glide_node_id %s;\n" % name +
                    "glide_listen 127.0.0.1:0;\n" +
                    ("glide_cluster %s;\n" % cluster_url if cluster_url else "") +
                    "store sqlite %s;\n" % db +
                    'credential_secret "%s";\n' % SECRET +
                    # The fault scenarios send 200 messages a second from one connection and
                    # the group replay test a thousand at once: above a person's rate, which
                    # the defaults of glide_limit_*message_rate are for.
                    "glide_limit_message_rate off;\n" +
                    "glide_limit_user_message_rate off;\n" +
                    "admin_listen 127.0.0.1:0;\n" +
                    'admin_token "%s";\n' % TOKEN)
        self.proc = None
        self.ws_port = self.admin_port = None

    def start(self):
        self.proc = spawn([GLIDED, "-c", self.conf], self.out)

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError("node %s: glided exited with %s: %s %s"
                                   % (self.name, self.proc.returncode, tail(self.out),
                                      tail(self.log)))
            with open(self.log, errors="replace") as f:
                text = f.read()
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", text)
            a = re.search(r"admin API on 127\.0\.0\.1:(\d+)", text)
            if m and a:
                self.ws_port, self.admin_port = int(m.group(1)), int(a.group(1))
                return port_open(self.ws_port) and port_open(self.admin_port)
            return False
        wait_until("node %s to log its WebSocket and admin ports and accept on them"
                   % self.name, ready)

    def url(self):
        return "ws://127.0.0.1:%d/ws" % self.ws_port

    def connected_to(self, port):
        return self.proc.poll() is None and port in tcp_peer_ports(self.proc.pid)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()
                return "killed after %d s" % TIMEOUT
        return self.proc.returncode


def admin(node, method, path, body=None):
    """Blocking admin API call; returns (status, parsed JSON or text)."""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (node.admin_port, path),
                                 data=None if body is None else json.dumps(body).encode(),
                                 method=method)
    req.add_header("Authorization", "Bearer " + TOKEN)
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


# --- glide protobuf (proto/glide.proto), enough for these scenarios ---------------------------

# message name -> {field number: (JSON key, kind)}; the JSON keys are the JSON codec's, so a
# decoded protobuf message reads like a JSON one.
PB = {
    "ChatMessage": {1: ("cliMid", "str"), 2: ("mid", "int"), 3: ("seq", "int"),
                    4: ("from", "str"), 5: ("to", "str"), 6: ("type", "int"),
                    7: ("content", "str"), 8: ("sendAt", "int")},
    "AckMessage": {1: ("cliMid", "str"), 2: ("mid", "int"), 3: ("seq", "int"),
                   4: ("from", "str")},
    "AckRequest": {1: ("cliMid", "str"), 2: ("seq", "int"), 3: ("mid", "int"),
                   4: ("from", "str"), 5: ("to", "str")},
    "KickOutNotify": {1: ("device_id", "str"), 2: ("device_name", "str")},
    "Hello": {1: ("client_version", "str"), 2: ("client_name", "str"),
              3: ("client_type", "str"), 4: ("server_version", "str"), 5: ("temp_id", "str"),
              6: ("heartbeat_interval", "int"), 7: ("protocols", "strs")},
    "EncryptedCredential": {1: ("version", "int"), 2: ("credential", "str")},
    "UserState": {1: ("uid", "str"), 2: ("online", "bool")},
    "StateSubscribe": {1: ("uids", "strs")},
    "GroupNotify": {1: ("from", "str"), 2: ("type", "int"), 3: ("body", "json")},
    "ClientCustom": {1: ("type", "str"), 2: ("content", "json")},
    "Text": {1: ("text", "str")},
}
PB_PAYLOAD = {
    "hello": "Hello", "authenticate": "EncryptedCredential", "message.chat": "ChatMessage",
    "message.chat.resend": "ChatMessage", "message.group": "ChatMessage",
    "message.group.notify": "GroupNotify", "ack.request": "AckRequest",
    "ack.notify": "AckRequest", "ack.message": "AckMessage", "api.state.sub": "StateSubscribe",
    "notify.kickout": "KickOutNotify", "notify.state": "UserState", "notify.error": "Text",
    "notify.forbidden": "Text", "notify.unauthenticated": "Text",
    "notify.unknown.action": "Text", "message.cli": "ClientCustom",
}


def pb_varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_len(num, payload):
    return pb_varint(num << 3 | 2) + pb_varint(len(payload)) + payload


def pb_int(num, v):
    return pb_varint(num << 3) + pb_varint(v)


def pb_fields(buf):
    """(field number, value) pairs: ints for varints, bytes for length-delimited fields."""
    i = 0
    while i < len(buf):
        key, i = pb_read_varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, i = pb_read_varint(buf, i)
            if v >= 1 << 63:
                v -= 1 << 64
        elif wire == 2:
            n, i = pb_read_varint(buf, i)
            v, i = bytes(buf[i:i + n]), i + n
        elif wire == 1:
            v, i = bytes(buf[i:i + 8]), i + 8
        elif wire == 5:
            v, i = bytes(buf[i:i + 4]), i + 4
        else:
            raise ValueError("wire type %d" % wire)
        yield num, v


def pb_read_varint(buf, i):
    n = shift = 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def pb_encode_payload(name, data):
    if name == "Text":
        data = {"text": data}
    out = b""
    for num, (key, kind) in sorted(PB[name].items()):
        v = data.get(key)
        if not v:
            continue  # proto3: defaults are not written
        if kind == "str":
            out += pb_len(num, v.encode())
        elif kind == "strs":
            out += b"".join(pb_len(num, s.encode()) for s in v)
        elif kind == "json":
            out += pb_len(num, json.dumps(v, separators=(",", ":")).encode())
        else:
            out += pb_int(num, int(v))
    return out


def pb_decode_payload(name, buf):
    out = {}
    for num, v in pb_fields(buf):
        key, kind = PB[name].get(num, ("#%d" % num, "raw"))
        if kind == "str":
            out[key] = v.decode()
        elif kind == "strs":
            out.setdefault(key, []).append(v.decode())
        elif kind == "json":
            out[key] = json.loads(v) if v else None
        elif kind == "bool":
            out[key] = bool(v)
        else:
            out[key] = v
    return out["text"] if name == "Text" else out


def pb_encode(env):
    out = b""
    if env.get("seq"):
        out += pb_int(2, env["seq"])
    out += pb_len(3, env["action"].encode())
    for num, key in ((4, "from"), (5, "to")):
        if env.get(key):
            out += pb_len(num, env[key].encode())
    data = env.get("data")
    name = PB_PAYLOAD.get(env["action"])
    if data is not None and name:
        out += pb_len(6, pb_encode_payload(name, data))
    elif data is not None:
        out += pb_len(11, json.dumps(data, separators=(",", ":")).encode())
    for k, v in (env.get("extra") or {}).items():
        out += pb_len(10, pb_len(1, k.encode()) + pb_len(2, v.encode()))
    return out


def pb_decode(buf):
    """An Envelope as the JSON codec would show it (empty fields left out)."""
    env, data = {}, None
    for num, v in pb_fields(buf):
        if num == 1:
            env["ver"] = v
        elif num == 2:
            env["seq"] = v
        elif num in (3, 4, 5, 7, 8, 9):
            env[{3: "action", 4: "from", 5: "to", 7: "msg", 8: "ticket", 9: "sign"}[num]] = \
                v.decode()
        elif num == 6:
            data = ("pb", v)
        elif num == 11:
            data = ("json", v)
        elif num == 12:
            data = ("null", None)
        elif num == 10:
            kv = dict(pb_fields(v))
            env.setdefault("extra", {})[kv.get(1, b"").decode()] = kv.get(2, b"").decode()
    env.setdefault("ver", 1)
    if data is not None:
        kind, v = data
        if kind == "pb":
            env["data"] = pb_decode_payload(PB_PAYLOAD.get(env.get("action", ""), "Text"), v)
        elif kind == "json":
            env["data"] = json.loads(v)
        else:
            env["data"] = None
    return env


def pb_self_test():
    """The encoder and the decoder agree, on a varint beyond 32 bits and a negative one."""
    env = {"seq": -1, "action": "message.chat", "to": "u",
           "data": {"cliMid": "c", "mid": 2 ** 40, "content": "é", "sendAt": 1},
           "extra": {"k": "v"}}
    back = pb_decode(pb_encode(env))
    return back == dict(env, ver=1), back


# --- clients -----------------------------------------------------------------------------------

class Client:
    """One WebSocket session on a node; a reader task keeps every message it receives (decoded,
    JSON-shaped whatever the codec) in self.msgs."""

    def __init__(self, node, uid, device, codec="json"):
        self.node, self.uid, self.device, self.codec = node, uid, device, codec
        self.name = "%s/%s@%s(%s)" % (uid, device, node.name, codec)
        self.msgs = []
        self.seq = 0
        self.ws = None
        self.closed = False
        self.close_code = None
        self.reader = None
        self._event = asyncio.Event()

    async def login(self):
        sub = ["glide.protobuf"] if self.codec == "pb" else None
        # A node may be one of several processes on one address (workers_fault_test.py): its
        # took(port) tells whether this connection is its own; new ones until one is.
        took = getattr(self.node, "took", lambda port: True)
        for _ in range(LANDING_TRIES):
            self.ws = await websockets.connect(self.node.url(), subprotocols=sub,
                                               max_size=None, ping_interval=None,
                                               open_timeout=TIMEOUT)
            if took(self.ws.local_address[1]):
                break
            await self.ws.close()
        else:
            raise RuntimeError("%s: %d connections, none taken by %s"
                               % (self.name, LANDING_TRIES, self.node.name))
        if self.codec == "pb" and self.ws.subprotocol != "glide.protobuf":
            raise RuntimeError("%s: subprotocol %r" % (self.name, self.ws.subprotocol))
        self.reader = asyncio.ensure_future(self._read())
        if not await self.wait(lambda m: m["action"] == "hello", "hello"):
            raise RuntimeError("%s: no hello (%s)" % (self.name, self.describe()))
        seq = await self.send("authenticate", {"version": 1, "credential":
                                               mint(SECRET, self.uid, self.device, now_ms())})
        r = await self.wait(lambda m: m.get("seq") == seq and
                            m["action"] in ("notify.success", "notify.error"),
                            "the answer to authenticate")
        if not r or r["action"] != "notify.success":
            raise RuntimeError("%s: login failed: %s" % (self.name, r or self.describe()))
        return self

    async def _read(self):
        try:
            async for raw in self.ws:
                m = pb_decode(raw) if self.codec == "pb" else json.loads(raw)
                self.msgs.append(m)
                self._wake()
        except websockets.ConnectionClosed:
            pass
        except Exception as e:  # a frame that does not decode is a failure to see
            self.msgs.append({"action": "#undecodable", "data": repr(e)})
        finally:
            self.closed = True
            self.close_code = self.ws.close_code
            self._wake()

    def _wake(self):
        ev, self._event = self._event, asyncio.Event()
        ev.set()

    async def until(self, pred, timeout=TIMEOUT):
        """Waits until pred() is true; returns its value, or None after the timeout."""
        deadline = time.monotonic() + timeout
        while True:
            r = pred()
            if r:
                return r
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ev = self._event
            try:
                await asyncio.wait_for(ev.wait(), left)
            except asyncio.TimeoutError:
                pass

    async def wait(self, pred, what, timeout=TIMEOUT):
        """The first received message that satisfies pred, or None after the timeout or once
        the connection is closed (nothing comes after that)."""
        self.waiting_for = what
        r = await self.until(lambda: next((m for m in self.msgs if pred(m)), None) or
                             self.closed, timeout)
        return r if isinstance(r, dict) else None

    async def wait_closed(self, timeout=TIMEOUT):
        return await self.until(lambda: self.closed, timeout)

    def of(self, action, pred=lambda d: True):
        return [m for m in self.msgs if m.get("action") == action and pred(m.get("data") or {})]

    def describe(self):
        acts = [m.get("action") for m in self.msgs[-6:]]
        return "%s waited for %s; closed %s (code %s); got %d messages, the last %s" % (
            self.name, getattr(self, "waiting_for", "-"), self.closed, self.close_code,
            len(self.msgs), acts)

    async def send(self, action, data=None, to="", seq=None):
        self.seq += 1
        env = {"seq": seq if seq is not None else self.seq, "action": action}
        if to:
            env["to"] = to
        if data is not None:
            env["data"] = data
        await self.ws.send(pb_encode(env) if self.codec == "pb" else json.dumps(env))
        return env["seq"]

    async def chat(self, to, cli_mid, content=None, action="message.chat"):
        return await self.send(action, {"cliMid": cli_mid, "type": 1,
                                        "content": content or "m " + cli_mid,
                                        "sendAt": 1720000000}, to=to)

    async def acked(self, cli_mid):
        """The ack.message for cli_mid (or a notify.error), or None."""
        return await self.wait(lambda m: (m["action"] == "ack.message" and
                                          (m.get("data") or {}).get("cliMid") == cli_mid) or
                               m["action"] == "notify.error", "ack.message of " + cli_mid)

    async def close(self):
        if self.ws is not None:
            try:
                await asyncio.wait_for(self.ws.close(), TIMEOUT)
            except Exception:
                pass
        if self.reader is not None:
            try:
                await asyncio.wait_for(self.reader, TIMEOUT)
            except Exception:
                pass


def mids(client, action, pred=lambda d: True):
    return [(m.get("data") or {}).get("mid") for m in client.of(action, pred)]


def chat_with(mid):
    return lambda d: d.get("mid") == mid


# --- the scenarios ---------------------------------------------------------------------------

class Cluster:
    node_count = 3  # the nodes on the bus (A, B and C)


async def one_chat(snd, rcv, cli, tag):
    """snd sends cli to rcv: ack.message, delivery with the mid, ack.request -> ack.notify."""
    await snd.chat(rcv.uid, cli, "hello " + tag)
    ack = await snd.acked(cli)
    mid = (ack or {}).get("data", {}).get("mid", 0) if ack and ack["action"] == "ack.message" \
        else 0
    need(tag + ": the sender gets ack.message with mid > 0", isinstance(mid, int) and mid > 0,
         str(ack) if ack else snd.describe())
    m = await rcv.wait(lambda m: m["action"] == "message.chat" and m["data"].get("mid") == mid,
                       "message.chat mid %d" % mid)
    need(tag + ": the receiver gets message.chat with that mid, from and content",
         m is not None and m["data"].get("from") == snd.uid and m["data"].get("to") == rcv.uid
         and m["data"].get("content") == "hello " + tag and m["data"].get("cliMid") == cli,
         str(m) if m else rcv.describe())
    await rcv.send("ack.request", {"mid": mid, "from": rcv.uid, "to": snd.uid, "cliMid": cli},
                   to=snd.uid)
    n = await snd.wait(lambda m: m["action"] == "ack.notify" and m["data"].get("mid") == mid,
                       "ack.notify mid %d" % mid)
    check(tag + ": the receiver's ack.request reaches the sender as ack.notify",
          n is not None and n["data"].get("from") == rcv.uid, str(n) if n else snd.describe())


async def s1_chat(c):
    a = await Client(c.A, "s1a", "pc").login()
    b = await Client(c.B, "s1b", "phone", "pb").login()
    c.clients += [a, b]
    await one_chat(a, b, "s1-1", "chat JSON on A -> protobuf on B")
    await one_chat(b, a, "s1-2", "chat protobuf on B -> JSON on A")
    await a.send("message.cli", {"type": "typing", "content": {"x": 1}}, to="s1b", seq=77)
    m = await b.wait(lambda m: m["action"] == "message.cli", "message.cli")
    check("message.cli from A reaches B as sent, from forced to the sender",
          m is not None and m.get("from") == "s1a" and m.get("seq") == 77 and
          m.get("data") == {"type": "typing", "content": {"x": 1}}, str(m) if m else b.describe())
    if not ONE_NODE:
        for r in c.redis:
            info = redis_command(r.port, "INFO", "keyspace").decode()
            dbs = dict(re.findall(r"^db(\d+):keys=(\d+)", info, re.M))
            check("the bus keeps its keys in the URL's DB %d (keyspace of redis-server :%d: %s)"
                  % (REDIS_DB, r.port, dbs), list(dbs) == [str(REDIS_DB)])


async def s2_multi_device(c):
    d1 = await Client(c.A, "s2u1", "d1").login()
    d2 = await Client(c.C, "s2u1", "d2", "pb").login()
    u2 = await Client(c.B, "s2u2", "p").login()
    c.clients += [d1, d2, u2]
    # u2 -> u1, then a second message as a fence.
    got = []
    for cli in ("s2-in", "s2-in-fence"):
        await u2.chat("s2u1", cli)
        ack = await u2.acked(cli)
        need("multi-device: u2 on B gets ack.message for " + cli,
             ack is not None and ack["action"] == "ack.message", str(ack) if ack else u2.describe())
        got.append(ack["data"]["mid"])
    deadline = time.monotonic() + TIMEOUT  # one wait for both devices
    for d in (d1, d2):
        ok = await d.until(lambda: all(mids(d, "message.chat", chat_with(x)) for x in got),
                           max(0, deadline - time.monotonic()))
        check("multi-device: %s gets u2's messages" % d.name, ok, d.describe())
    await asyncio.sleep(GRACE)
    for d in (d1, d2):
        n = [len(mids(d, "message.chat", chat_with(x))) for x in got]
        check("multi-device: %s got each exactly once" % d.name, n == [1, 1], "counts %s" % n)
    # u1/d1 -> u2: u2 gets it, u1/d2 gets the copy, u1/d1 nothing back.
    await d1.chat("s2u2", "s2-out")
    ack = await d1.acked("s2-out")
    need("multi-device: u1/d1 on A gets ack.message", ack is not None and
         ack["action"] == "ack.message", str(ack) if ack else d1.describe())
    mid = ack["data"]["mid"]
    m = await u2.wait(lambda m: m["action"] == "message.chat" and m["data"].get("mid") == mid,
                      "s2-out")
    check("multi-device: u2 on B gets u1/d1's message", m is not None, u2.describe())
    m = await d2.wait(lambda m: m["action"] == "message.chat" and m["data"].get("mid") == mid,
                      "the copy of s2-out")
    check("multi-device: u1/d2 on C gets a copy of what u1/d1 sent",
          m is not None and m["data"].get("from") == "s2u1" and m["data"].get("to") == "s2u2",
          str(m) if m else d2.describe())
    await asyncio.sleep(GRACE)
    check("multi-device: u1/d1 does not get its own message back",
          not mids(d1, "message.chat", chat_with(mid)), str(d1.of("message.chat")))
    check("multi-device: u2 got u1's message once and u1/d2 its copy once",
          len(mids(u2, "message.chat", chat_with(mid))) == 1 and
          len(mids(d2, "message.chat", chat_with(mid))) == 1,
          "%d, %d" % (len(mids(u2, "message.chat", chat_with(mid))),
                      len(mids(d2, "message.chat", chat_with(mid)))))


async def s3_kickout(c):
    x1 = await Client(c.A, "s3u", "X").login()
    c.clients.append(x1)
    x2 = await Client(c.B, "s3u", "X", "pb").login()
    c.clients.append(x2)
    k = await x1.wait(lambda m: m["action"] == "notify.kickout", "notify.kickout")
    check("kick-out across nodes: the session on A gets notify.kickout with the new device",
          k is not None and (k.get("data") or {}).get("device_id") == "X",
          str(k) if k else x1.describe())
    await x1.wait_closed()
    check("kick-out across nodes: the session on A is closed with 4001",
          x1.closed and x1.close_code == 4001, x1.describe())
    peer = await Client(c.C, "s3peer", "p").login()
    c.clients.append(peer)
    await peer.chat("s3u", "s3-to-new")
    ack = await peer.acked("s3-to-new")
    mid = (ack or {}).get("data", {}).get("mid")
    m = await x2.wait(lambda m: m["action"] == "message.chat" and
                      m["data"].get("cliMid") == "s3-to-new", "s3-to-new")
    check("kick-out across nodes: the new session on B receives a message sent from C",
          m is not None and m["data"].get("mid") == mid, x2.describe())
    await x2.chat("s3peer", "s3-from-new")
    ack = await x2.acked("s3-from-new")
    m = await peer.wait(lambda m: m["action"] == "message.chat" and
                        m["data"].get("cliMid") == "s3-from-new", "s3-from-new")
    check("kick-out across nodes: the new session on B sends (ack.message, delivered on C)",
          ack is not None and ack["action"] == "ack.message" and m is not None,
          "ack %s; %s" % (ack, peer.describe()))
    await asyncio.sleep(GRACE)
    check("kick-out across nodes: the new session stays open, never kicked",
          not x2.closed and not x2.of("notify.kickout"), x2.describe())


def order_faults(seqs):
    """How many deliveries came with a seq not above the highest seen before."""
    bad, top = 0, None
    for s in seqs:
        if top is not None and s <= top:
            bad += 1
        top = s if top is None else max(top, s)
    return bad


async def group_round(c, gid, devices, publishers, per, tag):
    """Each publisher sends `per` messages to gid, interleaved; then every device must have
    every acknowledged message once, in increasing seq order."""
    for i in range(per):
        for p in publishers:
            await p.send("message.group", {"cliMid": "%s-%s-%03d" % (tag, p.uid, i), "type": 1,
                                           "content": "g"}, to=gid)
    acks = {}
    for p in publishers:
        clis = {"%s-%s-%03d" % (tag, p.uid, i) for i in range(per)}
        ok = await p.until(lambda: len([m for m in p.of("ack.message")
                                        if m["data"].get("cliMid") in clis]) == per or
                           p.of("notify.error"))
        for m in p.of("ack.message"):
            if m["data"].get("cliMid") in clis:
                acks[m["data"]["mid"]] = m["data"].get("seq")
        need("group %s: %s's %d messages acknowledged" % (tag, p.name, per),
             ok and not p.of("notify.error"),
             "%d acks; errors %s" % (len([1 for m in p.of("ack.message")
                                          if m["data"].get("cliMid") in clis]),
                                     [m["data"] for m in p.of("notify.error")]))
    total = per * len(publishers)
    check("group %s: %d acks with %d distinct mids and distinct seqs" % (tag, total, total),
          len(acks) == total and len(set(acks.values())) == total,
          "%d mids, %d seqs" % (len(acks), len(set(acks.values()))))

    def group_msgs(d):
        return [m["data"] for m in d.of("message.group", lambda x: x.get("mid") in acks)]
    deadline = time.monotonic() + TIMEOUT  # one wait for all devices
    for d in devices:
        await d.until(lambda: len({x["mid"] for x in group_msgs(d)}) >= len(acks),
                      max(0, deadline - time.monotonic()))
    await asyncio.sleep(GRACE)
    for d in devices:
        got = group_msgs(d)
        distinct = {x["mid"] for x in got}
        seqs = [x.get("seq") for x in got]
        wrong_seq = [x for x in got if x.get("seq") != acks.get(x["mid"])]
        check("group %s: %s gets all %d messages exactly once (distinct %d, deliveries %d)"
              % (tag, d.name, total, len(distinct), len(got)),
              len(distinct) == total and len(got) == total)
        check("group %s: %s gets them in increasing seq order (%d out of order)"
              % (tag, d.name, order_faults(seqs)),
              order_faults(seqs) == 0 and not wrong_seq,
              "seqs %s; %d with a seq other than the ack's" % (seqs[:60], len(wrong_seq)))


async def s4_groups(c):
    status, body = await asyncio.to_thread(admin, c.A, "POST", "/v1/groups",
                                           {"gid": "s4g", "members": ["s4a", "s4b", "s4c"]})
    need("group: created through node A's admin API", status == 201, "%s %s" % (status, body))
    a1 = await Client(c.A, "s4a", "a1").login()
    a2 = await Client(c.C, "s4a", "a2", "pb").login()
    b = await Client(c.B, "s4b", "b", "pb").login()
    cc = await Client(c.C, "s4c", "c").login()
    devices = [a1, a2, b, cc]
    c.clients += devices
    await group_round(c, "s4g", devices, [a1], 50, "one")
    await group_round(c, "s4g", devices, [b, cc], 25, "two")


async def s5_presence(c):
    w = await Client(c.A, "s5w", "w").login()
    c.clients.append(w)

    def states(uid):
        return [m["data"] for m in w.of("notify.state", lambda d: d.get("uid") == uid)]

    await w.send("api.state.sub", {"uids": ["s5u", "s5fence"]})
    ok = await w.until(lambda: len(states("s5u")) >= 1 and len(states("s5fence")) >= 1)
    check("presence: api.state.sub answers notify.state {uid} (offline) at once",
          ok and states("s5u")[0] == {"uid": "s5u"}, str(states("s5u")) or w.describe())
    p1 = await Client(c.B, "s5u", "p1").login()
    c.clients.append(p1)
    ok = await w.until(lambda: len(states("s5u")) >= 2)
    check("presence: login on B -> notify.state {uid, online: true} on A",
          ok and states("s5u")[1] == {"uid": "s5u", "online": True}, str(states("s5u")))
    w2 = await Client(c.C, "s5w2", "w").login()
    c.clients.append(w2)
    await w2.send("api.state.sub", {"uids": ["s5u"]})
    m = await w2.wait(lambda m: m["action"] == "notify.state", "notify.state of s5u")
    check("presence: api.state.sub on C for a user online on B answers online at once",
          m is not None and m["data"] == {"uid": "s5u", "online": True},
          str(m) if m else w2.describe())
    p2 = await Client(c.C, "s5u", "p2").login()
    c.clients.append(p2)
    # A fence: the login's answer may come before C's directory entry is in Redis (the replay
    # waits for it, the answer does not). A message from A that reaches p2 was routed to C, or
    # replayed there after the entry was written; either way p1's leave comes after it.
    await w.chat("s5u", "s5-fence")
    m = await p2.wait(lambda m: m["action"] == "message.chat" and
                      m["data"].get("cliMid") == "s5-fence", "the fence message")
    need("presence: a message from A reaches the second device on C", m is not None,
         p2.describe())
    await p1.close()
    # A fence: s5fence's login on B comes after p1's close on B.
    f = await Client(c.B, "s5fence", "f").login()
    c.clients.append(f)
    await w.until(lambda: len(states("s5fence")) >= 2)
    await asyncio.sleep(GRACE)
    check("presence: a second device on C, then the first (on B) leaves -> no notify.state",
          states("s5u") == [{"uid": "s5u"}, {"uid": "s5u", "online": True}], str(states("s5u")))
    await p2.close()
    ok = await w.until(lambda: len(states("s5u")) >= 3)
    check("presence: the last device (on C) leaves -> notify.state {uid} (offline) on A",
          ok and states("s5u")[2] == {"uid": "s5u"}, str(states("s5u")))


async def s6_admin(c):
    u = await Client(c.A, "s6u", "d").login()
    c.clients.append(u)
    env = {"ver": 1, "action": "message.cli", "from": "system", "to": "s6u",
           "data": {"hello": "from C"}}
    status, body = await asyncio.to_thread(admin, c.C, "POST", "/v1/push",
                                           {"to": "s6u", "envelope": env})
    m = await u.wait(lambda m: m["action"] == "message.cli", "the pushed message.cli")
    check("admin API: POST /v1/push on C reaches the session on A (answer %s %s)"
          % (status, body), status == 200 and m is not None and
          m.get("data") == {"hello": "from C"} and m.get("from") == "system",
          str(m) if m else u.describe())
    status, body = await asyncio.to_thread(admin, c.C, "GET", "/v1/sessions?uid=s6u")
    ss = body.get("sessions", []) if isinstance(body, dict) else []
    n = c.node_count
    check("admin API: GET /v1/sessions on C lists the session on A (node %s), all %d nodes "
          "answering" % (c.A.name, n),
          ONE_NODE or (status == 200 and [(x.get("uid"), x.get("device"), x.get("node"))
                                          for x in ss] == [("s6u", "d", c.A.name)] and
                       body.get("nodes") == n and body.get("nodes_answered") == n),
          "%s %s" % (status, body))
    status, text = await asyncio.to_thread(admin, c.B, "GET", "/metrics")
    figures = dict(re.findall(r"^(glide_cluster_nodes\w*) (\S+)$", str(text), re.M))
    check("admin API: /metrics on B sums the %d nodes (%s)" % (n, figures),
          ONE_NODE or (status == 200 and figures == {"glide_cluster_nodes": str(n),
                                                     "glide_cluster_nodes_answered": str(n)}),
          str(text)[:300])
    status, body = await asyncio.to_thread(admin, c.C, "POST", "/v1/kick", {"uid": "s6u"})
    k = await u.wait(lambda m: m["action"] == "notify.kickout", "notify.kickout")
    await u.wait_closed()
    check("admin API: POST /v1/kick on C kicks the session on A: notify.kickout, close 4001 "
          "(answer %s %s)" % (status, body),
          status == 200 and k is not None and u.closed and u.close_code == 4001, u.describe())


async def paced_sender(snd, to, prefix, sent, total=FAULT_TOTAL):
    for i in range(total):
        cli = "%s-%03d" % (prefix, i)
        try:
            await snd.chat(to, cli)
        except websockets.ConnectionClosed:
            break
        sent.append((cli, time.monotonic()))
        await asyncio.sleep(FAULT_PACE)


def acks_of(snd, prefix):
    """cliMid -> mid of snd's acknowledged messages whose cliMid starts with prefix."""
    return {m["data"]["cliMid"]: m["data"]["mid"] for m in snd.of("ack.message")
            if m["data"].get("cliMid", "").startswith(prefix)}


async def s7a_redis_killed(c):
    snd = await Client(c.A, "s7as", "s").login()
    rcv = await Client(c.B, "s7ar", "r", "pb").login()
    c.clients += [snd, rcv]
    sent = []
    times = {}

    async def fault():
        await snd.until(lambda: len(acks_of(snd, "s7a")) >= FAULT_AT)
        times["acked_at_kill"] = len(acks_of(snd, "s7a"))
        for r in c.redis:
            r.kill()
        times["kill"] = time.monotonic()
        await asyncio.sleep(REDIS_OUTAGE)  # the outage itself, not a wait for readiness
        for r in c.redis:  # on this thread: PR_SET_PDEATHSIG follows the spawning thread
            r.start()
        times["restart"] = time.monotonic()

    ft = asyncio.ensure_future(fault())
    await paced_sender(snd, "s7ar", "s7a", sent)
    await asyncio.wait_for(ft, TIMEOUT + REDIS_OUTAGE)
    need("redis-server killed after %d acks and restarted %d s later on the same port"
         % (times.get("acked_at_kill", 0), REDIS_OUTAGE), "restart" in times)
    # More right after the restart, while the nodes reconnect and register again.
    await paced_sender(snd, "s7ar", "s7a-after", sent, AFTER_RESTART)
    await snd.until(lambda: len(acks_of(snd, "s7a")) == len(sent))
    acked = acks_of(snd, "s7a")
    check("redis outage: every message sent is acknowledged (the store, not the bus, acks: "
          "%d of %d)" % (len(acked), len(sent)),
          len(acked) == len(sent) == FAULT_TOTAL + AFTER_RESTART)
    want = set(acked.values())

    def delivered():
        return [m for m in mids(rcv, "message.chat") if m in want]
    await rcv.until(lambda: want <= set(delivered()) or rcv.closed)
    settled = time.monotonic() - times["restart"]
    got = delivered()
    lost = sorted(want - set(got))
    dups = len(got) - len(set(got))
    sent_at = dict(sent)
    cli_of = {v: k for k, v in acked.items()}
    when = {"before": 0, "during": 0, "after": 0}
    for mid in lost:
        t = sent_at.get(cli_of[mid], 0)
        when["before" if t < times["kill"] else "during" if t < times["restart"] else
             "after"] += 1
    counts.append("redis killed: acked %d, delivered to %s %d distinct (%d duplicates), lost %d "
                  "(sent before the kill %d, during the outage %d, after the restart %d); "
                  "%.1f s after the restart" % (len(acked), rcv.name, len(set(got)), dups,
                                                len(lost), when["before"], when["during"],
                                                when["after"], settled))
    check("redis outage: every acknowledged message reaches the receiver on B within %d s of "
          "the restart (%d lost)" % (TIMEOUT, len(lost)), not lost,
          "lost mids %s...; %s" % (lost[:5], counts[-1]))
    check("redis outage: the receiver's session on B stayed connected", not rcv.closed,
          rcv.describe())
    c.acked_chats += [("s7as", k, v) for k, v in acked.items()]


async def s7b_node_killed(c):
    snd = await Client(c.A, "s7bs", "s").login()
    rcv = await Client(c.B, "s7br", "r").login()
    only = await Client(c.B, "s7bo", "o").login()  # a user on B only, watched from A
    w = await Client(c.A, "s7bw", "w").login()
    c.clients += [snd, rcv, only, w]
    await w.send("api.state.sub", {"uids": ["s7bo"]})
    m = await w.wait(lambda m: m["action"] == "notify.state", "notify.state of s7bo")
    need("node killed: the watcher on A sees s7bo online on B", m is not None and
         m["data"] == {"uid": "s7bo", "online": True}, str(m) if m else w.describe())
    sent = []
    times = {}
    moved = []

    async def fault():
        await snd.until(lambda: len(acks_of(snd, "s7b")) >= FAULT_AT)
        times["acked_at_kill"] = len(acks_of(snd, "s7b"))
        c.B.kill()
        times["kill"] = time.monotonic()
        await rcv.wait_closed()
        # The client reconnects at once, to C, while A still sends.
        r2 = await Client(c.C, "s7br", "r", "pb").login()
        c.clients.append(r2)
        times["login"] = time.monotonic()
        moved.append(r2)

    ft = asyncio.ensure_future(fault())
    await paced_sender(snd, "s7br", "s7b", sent)
    await asyncio.wait_for(ft, TIMEOUT * 2)
    need("node B SIGKILLed after %d acks, the receiver logged in again on C"
         % times.get("acked_at_kill", 0), bool(moved))
    r2 = moved[0]
    await snd.until(lambda: len(acks_of(snd, "s7b")) == len(sent))
    acked = acks_of(snd, "s7b")
    check("node killed: every message sent is acknowledged (%d of %d)"
          % (len(acked), len(sent)), len(acked) == len(sent) == FAULT_TOTAL)
    want = set(acked.values())

    def on_c():
        return [m for m in mids(r2, "message.chat") if m in want]
    await r2.until(lambda: want <= set(on_c()) or r2.closed)
    got = on_c()
    on_b = {m for m in mids(rcv, "message.chat") if m in want}
    lost = sorted(want - set(got))
    sent_at = dict(sent)
    cli_of = {v: k for k, v in acked.items()}
    before_login = sum(1 for mid in lost if sent_at.get(cli_of[mid], 0) < times["login"])
    counts.append("node B killed: acked %d, delivered on B before the kill %d, on C %d distinct "
                  "(%d duplicates), lost %d (%d sent before the login on C, %d after)"
                  % (len(acked), len(on_b), len(set(got)), len(got) - len(set(got)), len(lost),
                     before_login, len(lost) - before_login))
    check("node killed: the receiver, logged in on C, gets every acknowledged message "
          "(%d lost)" % len(lost), not lost, "lost mids %s...; %s" % (lost[:5], counts[-1]))
    c.acked_chats += [("s7bs", k, v) for k, v in acked.items()]
    m = await w.wait(lambda m: m["action"] == "notify.state" and m["data"] == {"uid": "s7bo"},
                     "notify.state offline of s7bo")
    check("node killed: a user who was only on B goes offline for a watcher on A (%s)"
          % ("after %.1f s" % (time.monotonic() - times["kill"]) if m else "never"),
          m is not None, w.describe())


def s7c_store(c):
    con = sqlite3.connect("file:%s?mode=ro" % c.db, uri=True, timeout=TIMEOUT)
    try:
        dups = con.execute("SELECT sender, cli_mid, count(*) FROM messages WHERE kind = 0 AND "
                           "cli_mid <> '' GROUP BY sender, cli_mid HAVING count(*) > 1"
                           ).fetchall()
        total = con.execute("SELECT count(*) FROM messages WHERE kind = 0").fetchone()[0]
        check("store: no (sender, cliMid) of a one-to-one message stored twice (%d messages)"
              % total, not dups, "%d duplicated, e.g. %s" % (len(dups), dups[:3]))
        wrong = []
        for sender, cli, mid in c.acked_chats:
            row = con.execute("SELECT mid FROM messages WHERE kind = 0 AND sender = ? AND "
                              "cli_mid = ?", (sender, cli)).fetchall()
            if row != [(mid,)]:
                wrong.append((sender, cli, mid, row))
        check("store: every message acknowledged in the fault scenarios is stored once, under "
              "its acknowledged mid (%d)" % len(c.acked_chats), not wrong,
              "%d wrong, e.g. %s" % (len(wrong), wrong[:3]))
    finally:
        con.close()


# --- glided -t -------------------------------------------------------------------------------

def config_refusals(tmp):
    def t(name, lines):
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write("load_module %s;\nglide_listen 127.0.0.1:0;\n" % MODULE)
            f.write("".join(line + "\n" for line in lines))
        p = subprocess.run([GLIDED, "-t", "-c", path], capture_output=True, text=True,
                           timeout=TIMEOUT)
        return path, p.returncode, p.stderr.strip()

    db = os.path.join(tmp, "t.db")
    for url in ("redis://:bad", "http://x:1", "redis://127.0.0.1:6379/db"):
        path, rc, err = t("url.conf", ["store sqlite %s;" % db, "glide_cluster %s;" % url])
        check("glided -t refuses glide_cluster %s with file:line" % url,
              rc == 1 and ('invalid value "%s" in "glide_cluster" directive' % url) in err and
              ("%s:4" % path) in err, "rc %s: %s" % (rc, err))
    # The refusal names the store (the file's name does not say "memory") and a line of one of
    # the two directives.
    for order in (["store memory;", "glide_cluster redis://127.0.0.1:6379;"],
                  ["glide_cluster redis://127.0.0.1:6379;", "store memory;"]):
        path, rc, err = t("both.conf", order)
        check("glided -t refuses %s with file:line (memory cannot be shared)"
              % " + ".join(x.rstrip(";") for x in order),
              rc == 1 and "memory" in err.replace(path, "") and "not supported" not in err and
              re.search(re.escape(path) + ":[34]\\b", err), "rc %s: %s" % (rc, err))
    path, rc, err = t("ok.conf", ["store sqlite %s;" % db, "glide_cluster "
                                    "redis://:pw@127.0.0.1:6379/2 redis://127.0.0.1:6380;"])
    check("glided -t accepts glide_cluster with a password, a DB and two URLs, store sqlite",
          rc == 0, "rc %s: %s" % (rc, err))


# --- main ------------------------------------------------------------------------------------

# The scenarios between clients on nodes c.A, c.B and c.C (workers_fault_test.py runs them
# between worker processes).
ACROSS = (("1 chat across nodes", s1_chat),
          ("2 multi-device across nodes", s2_multi_device),
          ("3 kick-out across nodes", s3_kickout),
          ("4 groups across three nodes", s4_groups),
          ("5 presence across nodes", s5_presence),
          ("6 admin API across nodes", s6_admin))
FAULTS = (("7a redis-server killed", s7a_redis_killed),
          ("7b a node killed", s7b_node_killed))


async def scenarios(c, table=ACROSS + FAULTS):
    for name, fn in table:
        if ONE_NODE and fn is s7b_node_killed:
            continue
        print("# scenario " + name, flush=True)
        t0 = time.monotonic()
        try:
            await asyncio.wait_for(fn(c), SCENARIO_LIMIT)
        except Abort:
            pass
        except Exception as e:
            check("scenario %s ran to its end" % name, False,
                  "%s: %s" % (type(e).__name__, e))
            traceback.print_exc(file=sys.stdout)
        finally:
            for cl in c.clients:
                await cl.close()
            c.clients = []
        print("# (%.1f s)" % (time.monotonic() - t0), flush=True)


START = ("three glided nodes start with glide_cluster and one SQLite file, and connect to "
         "redis-server" if not ONE_NODE else "one glided starts (CLUSTER_TEST_ONE_NODE)")


def main(tmp):
    ok, back = pb_self_test()
    check("the protobuf encoder and decoder here agree", ok, str(back))
    print("# scenario 8 configuration refusals", flush=True)
    config_refusals(tmp)

    c = Cluster()
    c.clients, c.acked_chats = [], []
    c.db = os.path.join(tmp, "shared.db")
    c.redis = [Redis(tmp, i) for i in range(SHARDS)]
    for r in c.redis:
        r.start()
    ports = [r.port for r in c.redis]
    check("redis-server answers PING on 127.0.0.1:%s" % ports, True)
    url = " ".join(r.url() for r in c.redis)
    if ONE_NODE:  # the test's own check: one node without the bus plays A, B and C
        nodes = [Node(tmp, "A", None, c.db)]
        c.A = c.B = c.C = nodes[0]
    else:
        nodes = [Node(tmp, n, url, c.db) for n in ("A", "B", "C")]
        c.A, c.B, c.C = nodes
    try:
        for n in nodes:
            n.start()
        if not ONE_NODE:
            wait_until("nodes A, B, C to connect to redis-server on ports %s" % ports,
                       lambda: all(n.connected_to(p) for n in nodes for p in ports))
    except (RuntimeError, Timeout) as e:
        check(START, False, str(e))
        return
    check(START, True)
    asyncio.run(scenarios(c))
    for n in dict.fromkeys((c.A, c.C)):
        rc = n.stop()
        check("node %s exits 0 on SIGTERM" % n.name, rc == 0, "exit %s; %s" % (rc, tail(n.log)))
    c.B.kill()
    # A sanitizer build's reports (B's end by SIGKILL leaves none of its own).
    reports = []
    for n in nodes:
        with open(n.out, errors="replace") as f:
            reports += [n.name + ": " + line.strip() for line in f
                        if "Sanitizer" in line or "runtime error:" in line]
    check("no sanitizer report in the nodes' output", not reports, " | ".join(reports[:5]))
    print("# scenario 7c the shared store", flush=True)
    try:
        s7c_store(c)
    except sqlite3.Error as e:
        check("store: the shared SQLite file reads", False, str(e))


def run(scenarios_of=None, prefix="glide-cluster-test."):
    """Runs scenarios_of(tmp) (this test's main by default; workers_test.py has its own) in a
    new temporary directory, with the checks counted, the processes killed and the directory
    removed at the end whatever happens."""
    if not shutil.which("redis-server"):
        print("skipped: no redis-server (apt-get install redis-server)")
        print("0 passed, 0 failed, 1 skipped")
        return 0
    tmp = tempfile.mkdtemp(prefix=prefix)
    t0 = time.monotonic()
    try:
        (scenarios_of or main)(tmp)
    except Exception:
        traceback.print_exc(file=sys.stdout)
        check("the test ran to its end", False)
    finally:
        for p in running:
            if p.poll() is None:
                p.kill()
                p.wait()
        if failed and os.environ.get("KEEP"):
            print("# kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    for line in counts:
        print("# " + line)
    print("# %.1f s" % (time.monotonic() - t0))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(run())
