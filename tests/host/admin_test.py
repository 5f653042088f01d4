#!/usr/bin/python3
"""glided's admin HTTP API end to end: configuration refusals (glided -t), the bearer token
(401 without or with a wrong one, constant answers), every endpoint (groups and members, push,
kick, sessions, healthz, metrics) against real WebSocket sessions authenticated with glide
credentials, JSON errors for bad input (invalid JSON, missing fields, unknown group, oversize
body, unknown route, wrong method, malformed HTTP), keep-alive with pipelining, and a reload
that changes the token. Everything on loopback with port 0.

Run from the repository root with B set to the build directory."""

import asyncio
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

import websockets

# The lockout check holds thousands of connections: glided (a child) inherits this limit.
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if _soft < _hard:
    resource.setrlimit(resource.RLIMIT_NOFILE, (_hard, _hard))

B = os.environ.get("B", "build")
GLIDED = os.path.abspath(os.path.join(B, "glided"))
MODULE = os.path.abspath(os.path.join(B, "libglide.so"))
MINT = os.path.abspath(os.path.join(B, "tests", "host", "helper_mint_credential"))
TOKEN = "test-token-0123456789abcdef"
SECRET = "admin-test-secret"
TIMEOUT = 20

passed = 0
failed = 0


def check(name, fn):
    global passed, failed
    try:
        fn()
        passed += 1
        print(f"ok   {name}", flush=True)
    except Exception:
        failed += 1
        print(f"FAIL {name}", flush=True)
        traceback.print_exc()


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


# --- configuration refusals ----------------------------------------------------------------

TMP = tempfile.mkdtemp(prefix="glided-admin.")


def conf(name, *lines):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(f"load_module {MODULE};\nglide_listen 127.0.0.1:0;\n")
        for line in lines:
            f.write(line + "\n")
    return path


def glided_t(path):
    p = subprocess.run([GLIDED, "-t", "-c", path], capture_output=True, text=True,
                       timeout=TIMEOUT)
    return p.returncode, p.stderr


def refusal(name, lines, want):
    def run():
        path = conf(name, *lines)
        rc, err = glided_t(path)
        expect(rc == 1, f"rc {rc}: {err}")
        expect(want.replace("FILE", path) in err, f"wanted {want!r} in {err!r}")
    return run


check("admin_listen without admin_token is refused with file:line",
      refusal("notoken.conf", ["admin_listen 127.0.0.1:0;"],
              '[emerg] "admin_listen" directive needs "admin_token" (or "admin_token off;" on '
              'a loopback address) in FILE:3'))
check("admin_token off on a non-loopback address is refused",
      refusal("offwide.conf", ["admin_listen 0.0.0.0:0;", "admin_token off;"],
              '"admin_token off" is allowed only with a loopback "admin_listen" address, '
              'not "0.0.0.0:0", in FILE:4'))
check("an admin_token with a space is refused",
      refusal("space.conf", ["admin_listen 127.0.0.1:0;", 'admin_token "a b";'],
              'invalid value "a b" in "admin_token" directive, it must be "off" or printable '
              'ASCII without spaces in FILE:4'))
check("an empty admin_token is refused",
      refusal("empty.conf", ["admin_listen 127.0.0.1:0;", 'admin_token "";'],
              'invalid value "" in "admin_token" directive'))
check("a bad admin_listen port is refused",
      refusal("port.conf", ["admin_listen 127.0.0.1:99999;", f"admin_token {TOKEN};"],
              'in FILE:3'))
check("a bad admin_max_body_size is refused",
      refusal("size.conf", ["admin_listen 127.0.0.1:0;", f"admin_token {TOKEN};",
                            "admin_max_body_size 0;"],
              'invalid value "0" in "admin_max_body_size" directive'))


def accepted(name, lines):
    def run():
        rc, err = glided_t(conf(name, *lines))
        expect(rc == 0, f"rc {rc}: {err}")
    return run


check("admin_token off on 127.0.0.1 is accepted",
      accepted("offlo.conf", ["admin_listen 127.0.0.1:0;", "admin_token off;"]))
check("admin_token off on [::1] is accepted",
      accepted("offlo6.conf", ["admin_listen [::1]:0;", "admin_token off;"]))
check("admin_listen with a token is accepted",
      accepted("ok.conf", ["admin_listen 0.0.0.0:0;", f'admin_token "{TOKEN}";']))

# --- a running glided --------------------------------------------------------------------


class Glided:
    def __init__(self, token=TOKEN, store="store memory;", name="run"):
        self.log = os.path.join(TMP, name + ".log")
        open(self.log, "w").close()
        self.conf = conf(name + ".conf", "admin_listen 127.0.0.1:0;", f'admin_token "{token}";',
                         "admin_max_body_size 4k;", f'credential_secret "{SECRET}";',
                         store, f"error_log {self.log} info;")
        self.proc = subprocess.Popen([GLIDED, "-c", self.conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.admin = self.ws = None
        deadline = time.time() + TIMEOUT
        while time.time() < deadline and not (self.admin and self.ws):
            text = open(self.log).read()
            m = re.search(r"admin API on 127\.0\.0\.1:(\d+)", text)
            self.admin = int(m.group(1)) if m else None
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", text)
            self.ws = int(m.group(1)) if m else None
            time.sleep(0.05)
        if not (self.admin and self.ws):
            raise RuntimeError("glided did not start: " + open(self.log).read())

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def request(port, method, path, body=None, token=TOKEN, raw=None, headers=None):
    """Returns (status, headers, parsed JSON or text)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            status, hdrs, text = r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        status, hdrs, text = e.code, e.headers, e.read().decode()
    if hdrs.get("Content-Type", "").startswith("application/json"):
        return status, hdrs, json.loads(text)
    return status, hdrs, text


def raw_exchange(port, data, want_responses=1):
    """Sends raw bytes, reads until the server closes or want_responses answers arrived."""
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    s.sendall(data)
    got = b""
    while got.count(b"HTTP/1.1 ") < want_responses or not complete(got, want_responses):
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    s.close()
    return got.decode(errors="replace")


def complete(buf, n):
    """True when buf holds n whole responses (by Content-Length)."""
    pos = 0
    for _ in range(n):
        end = buf.find(b"\r\n\r\n", pos)
        if end < 0:
            return False
        m = re.search(rb"Content-Length: (\d+)", buf[pos:end])
        length = int(m.group(1)) if m else 0
        if len(buf) < end + 4 + length:
            return False
        pos = end + 4 + length
    return True


def error_of(status_want, r):
    status, _, body = r
    expect(status == status_want, f"status {status}, wanted {status_want}: {body}")
    expect(isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"],
           f"no JSON error: {body!r}")
    return body["error"]


def mint(uid, device):
    return subprocess.run([MINT, SECRET, uid, device], capture_output=True, text=True,
                          check=True).stdout.strip()


class Client:
    """One WebSocket session, authenticated as (uid, device)."""

    def __init__(self, port):
        self.port = port
        self.ws = None
        self.seq = 0

    async def login(self, uid, device):
        self.ws = await websockets.connect(f"ws://127.0.0.1:{self.port}/ws",
                                           open_timeout=TIMEOUT)
        hello = json.loads(await asyncio.wait_for(self.ws.recv(), TIMEOUT))
        expect(hello["action"] == "hello", hello)
        reply = await self.call("authenticate", {"version": 1, "credential": mint(uid, device)})
        expect(reply["action"] == "notify.success", reply)

    async def send(self, action, data, to=""):
        self.seq += 1
        await self.ws.send(json.dumps({"ver": 1, "seq": self.seq, "action": action, "to": to,
                                       "data": data}))
        return self.seq

    async def recv(self, action=None):
        """The next message, or the next one whose action is `action` (a name or a tuple)."""
        want = (action,) if isinstance(action, str) else action
        while True:
            m = json.loads(await asyncio.wait_for(self.ws.recv(), TIMEOUT))
            if want is None or m["action"] in want:
                return m

    async def call(self, action, data, to=""):
        seq = await self.send(action, data, to)
        while True:
            m = await self.recv()
            if m.get("seq") == seq:
                return m


g = Glided()
A = g.admin
loop = asyncio.new_event_loop()


def run(coro):
    return loop.run_until_complete(asyncio.wait_for(coro, TIMEOUT * 2))


# --- the token ---------------------------------------------------------------------------

def t_no_token():
    status, hdrs, body = request(A, "GET", "/healthz", token=None)
    expect(error_of(401, (status, hdrs, body)) == "missing Authorization: Bearer token", body)
    expect(hdrs.get("WWW-Authenticate", "").startswith("Bearer"), hdrs)


def t_wrong_token():
    for bad in ["wrong", TOKEN + "x", TOKEN[:-1], ""]:
        expect(error_of(401, request(A, "GET", "/metrics", token=bad)) ==
               "invalid admin token", bad)
    r = request(A, "GET", "/healthz", token=None, headers={"Authorization": "Basic " + TOKEN})
    error_of(401, r)


def t_unknown_route_needs_token_too():
    error_of(401, request(A, "GET", "/nope", token=None))


check("401 without a token, with WWW-Authenticate", t_no_token)
check("401 with a wrong token or scheme", t_wrong_token)
check("401 comes before routing", t_unknown_route_needs_token_too)


# --- healthz, routes, methods, bodies ------------------------------------------------------

def t_healthz():
    status, _, body = request(A, "GET", "/healthz")
    expect(status == 200 and body["status"] == "ok", body)


def t_unknown_route():
    expect("/v2/things" in error_of(404, request(A, "GET", "/v2/things")), "names the path")
    error_of(404, request(A, "POST", "/v1/groups/g/members", body={}))


def t_wrong_method():
    status, hdrs, body = request(A, "GET", "/v1/push")
    error_of(405, (status, hdrs, body))
    expect(hdrs.get("Allow") == "POST", hdrs)
    status, hdrs, body = request(A, "POST", "/metrics", body={})
    error_of(405, (status, hdrs, body))
    expect(hdrs.get("Allow") == "GET", hdrs)


def t_bad_json():
    msg = error_of(400, request(A, "POST", "/v1/push", raw=b'{"to": "u1", '))
    expect(msg.startswith("invalid JSON at line 1"), msg)
    expect(error_of(400, request(A, "POST", "/v1/kick", raw=b"[1, 2]")) ==
           "the request body must be a JSON object", "array")
    expect(error_of(400, request(A, "POST", "/v1/kick", raw=b"")) ==
           "the request body is empty; send a JSON object", "empty")
    expect(error_of(400, request(A, "POST", "/v1/kick", body={"uid": 5})) ==
           '"uid" must be a non-empty string', "type")
    expect(error_of(400, request(A, "POST", "/v1/kick", body={})) == '"uid" is required', "")
    expect(error_of(400, request(A, "POST", "/v1/push", body={"to": "u1"})) ==
           '"envelope" must be a glide message (a JSON object)', "envelope")
    error_of(400, request(A, "POST", "/v1/push", raw=b'{"to":"a","to":"b","envelope":{}}'))


def t_oversize():
    big = json.dumps({"to": "u1", "envelope": {"action": "x", "data": "a" * 5000}}).encode()
    msg = error_of(413, request(A, "POST", "/v1/push", raw=big))
    expect("admin_max_body_size" in msg, msg)


def t_raw_http():
    text = raw_exchange(A, b"GARBAGE\r\n\r\n")
    expect(text.startswith("HTTP/1.1 400 ") and '"error":"malformed request line"' in text,
           text)
    text = raw_exchange(A, b"POST /v1/push HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
    expect(text.startswith("HTTP/1.1 411 "), text)
    text = raw_exchange(A, b"GET /healthz HTTP/2.0\r\n\r\n")
    expect(text.startswith("HTTP/1.1 505 "), text)
    text = raw_exchange(A, b"GET /healthz HTTP/1.1\r\nX: " + b"a" * 9000 + b"\r\n\r\n")
    expect(text.startswith("HTTP/1.1 431 "), text)
    text = raw_exchange(A, b"GET /healthz HTTP/1.1\r\nContent-Length: x\r\n\r\n")
    expect(text.startswith("HTTP/1.1 400 "), text)
    # 413 is answered from Content-Length, before the body is sent.
    text = raw_exchange(A, b"POST /v1/push HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n")
    expect(text.startswith("HTTP/1.1 413 "), text)


def t_pipelined():
    one = (f"GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n")
    text = raw_exchange(A, (one * 3).encode(), want_responses=3)
    expect(text.count("HTTP/1.1 200 OK") == 3, text)


check("GET /healthz", t_healthz)
check("404 with JSON for an unknown route", t_unknown_route)
check("405 with Allow for a wrong method", t_wrong_method)
check("400 with a useful JSON error for bad bodies", t_bad_json)
check("413 for a body over admin_max_body_size", t_oversize)
check("malformed HTTP gets JSON errors (400, 411, 505, 431, 413)", t_raw_http)
check("keep-alive: three pipelined requests, three answers", t_pipelined)


# --- connections that never authenticate cannot lock operators out -------------------------

def open_idle(n):
    socks = []
    for _ in range(n):
        socks.append(socket.create_connection(("127.0.0.1", A), timeout=TIMEOUT))
    return socks


def closed_by_server(s, within):
    s.settimeout(within)
    try:
        return s.recv(1) == b""
    except (socket.timeout, ConnectionResetError):
        return False


def t_idle_flood():
    idle = min(5000, resource.getrlimit(resource.RLIMIT_NOFILE)[0] // 2 - 100)
    expect(idle >= 1000, f"only {idle} files allowed")
    socks = open_idle(idle)
    try:
        status, _, body = request(A, "GET", "/healthz")
        expect(status == 200 and body["status"] == "ok", f"{status} {body}")
        # The oldest pending ones made room for the newer: the first is closed, the last not.
        expect(closed_by_server(socks[0], 5), "the oldest idle connection is still open")
        socks[-1].settimeout(0.2)
        try:
            expect(socks[-1].recv(1) != b"", "the newest idle connection was closed")
        except socket.timeout:
            pass
    finally:
        for s in socks:
            s.close()


def t_header_timeout():
    # Sending a header byte now and then does not keep a connection that never completes a
    # request: it is closed 5 s after its accept.
    s = socket.create_connection(("127.0.0.1", A), timeout=TIMEOUT)
    start = time.monotonic()
    closed = False
    for b in b"GET /healthz HTTP/1.1\r\nX-Slow: " + b"a" * 200:
        try:
            s.sendall(bytes([b]))
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        if closed_by_server(s, 0.25):
            closed = True
            break
    took = time.monotonic() - start
    s.close()
    expect(closed and 4 <= took < 15, f"closed {closed} after {took:.1f} s")


def t_authenticated_ceiling():
    one = (f"GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n").encode()
    held = []
    try:
        for _ in range(128):
            s = socket.create_connection(("127.0.0.1", A), timeout=TIMEOUT)
            s.sendall(one)
            got = b""
            while not complete(got, 1):
                got += s.recv(65536)
            expect(got.startswith(b"HTTP/1.1 200 "), got)
            held.append(s)
        text = raw_exchange(A, one)
        expect(text.startswith("HTTP/1.1 503 ") and "too many admin connections" in text, text)
    finally:
        for s in held:
            s.close()
    time.sleep(0.2)  # the server sees the closes; then there is room again
    status, _, _ = request(A, "GET", "/healthz")
    expect(status == 200, status)


check("5,000 idle unauthenticated connections: an authenticated request still answered",
      t_idle_flood)
check("a connection that never completes a request is closed 5 s after its accept",
      t_header_timeout)
check("at most 128 authenticated connections; the 129th gets 503, room again after",
      t_authenticated_ceiling)


# --- groups ------------------------------------------------------------------------------

def t_groups_crud():
    status, _, body = request(A, "POST", "/v1/groups", body={"gid": "g1", "members": ["a", "b"]})
    expect(status == 201 and body == {"gid": "g1", "members": 2}, body)
    expect("already exists" in error_of(409, request(A, "POST", "/v1/groups",
                                                     body={"gid": "g1"})), "409")
    status, _, body = request(A, "GET", "/v1/groups/g1")
    expect(status == 200 and body == {"gid": "g1", "members": ["a", "b"]}, body)
    status, _, body = request(A, "PUT", "/v1/groups/g1/members/c%20d")
    expect(status == 200 and body == {"gid": "g1", "uid": "c d", "member": True}, body)
    status, _, body = request(A, "DELETE", "/v1/groups/g1/members/a")
    expect(status == 200 and body["member"] is False, body)
    expect(error_of(404, request(A, "DELETE", "/v1/groups/g1/members/a")) ==
           "not member of channel", "not a member")
    status, _, body = request(A, "GET", "/v1/groups/g1")
    expect(body["members"] == ["b", "c d"], body)
    status, _, body = request(A, "GET", "/v1/groups")
    expect(status == 200 and body == {"groups": ["g1"]}, body)
    status, _, body = request(A, "DELETE", "/v1/groups/g1")
    expect(status == 200 and body == {"gid": "g1", "deleted": True}, body)


def t_groups_unknown():
    for method, path in [("DELETE", "/v1/groups/nope"), ("GET", "/v1/groups/nope"),
                         ("PUT", "/v1/groups/nope/members/u1"),
                         ("DELETE", "/v1/groups/nope/members/u1")]:
        expect(error_of(404, request(A, method, path)) == "channel does not exist",
               method + path)


def t_groups_bad_input():
    error_of(400, request(A, "POST", "/v1/groups", body={"members": []}))
    error_of(400, request(A, "POST", "/v1/groups", body={"gid": "g", "members": "a"}))
    error_of(400, request(A, "POST", "/v1/groups", body={"gid": "g", "members": ["", "a"]}))
    error_of(400, request(A, "POST", "/v1/groups", body={"gid": "g", "members": [1]}))
    error_of(400, request(A, "PUT", "/v1/groups/g/members/%zz"))
    error_of(405, request(A, "PATCH", "/v1/groups/g", body={}))


check("groups: create, 409 on repeat, list, members, add, remove, delete", t_groups_crud)
check("groups: 404 for an unknown group", t_groups_unknown)
check("groups: 400 for bad input", t_groups_bad_input)


def t_groups_sqlite():
    """The same over SQLite, whose answers come later from its writer thread; the groups are
    still there after a restart."""
    global A
    memory = A
    db = os.path.join(TMP, "admin.db")
    try:
        s = Glided(store=f"store sqlite {db};", name="sqlite")
        A = s.admin
        t_groups_crud()
        t_groups_unknown()
        status, _, body = request(A, "POST", "/v1/groups",
                                  body={"gid": "kept", "members": ["m%d" % i for i in range(300)]})
        expect(status == 201 and body["members"] == 300, body)
        expect(s.stop() == 0, "sqlite glided exit")
        s = Glided(store=f"store sqlite {db};", name="sqlite2")
        A = s.admin
        status, _, body = request(A, "GET", "/v1/groups/kept")
        expect(status == 200 and len(body["members"]) == 300, body)
        expect(s.stop() == 0, "sqlite glided exit")
    finally:
        A = memory


check("groups over store sqlite (answers from the writer thread, kept across a restart)",
      t_groups_sqlite)


# --- sessions, push, kick, group changes reaching the module --------------------------------

async def sessions_scenario():
    a1, a2, b = Client(g.ws), Client(g.ws), Client(g.ws)
    await a1.login("alice", "phone")
    await a2.login("alice", "laptop")
    await b.login("bob", "phone")

    status, _, body = request(A, "GET", "/v1/sessions?uid=alice")
    expect(status == 200 and body["count"] == 2 and not body["truncated"], body)
    expect(sorted(s["device"] for s in body["sessions"]) == ["laptop", "phone"], body)
    s0 = body["sessions"][0]
    expect(s0["uid"] == "alice" and s0["codec"] == "json" and
           s0["peer"].startswith("127.0.0.1:") and s0["connected_ms"] > 1.6e12, s0)
    status, _, body = request(A, "GET", "/v1/sessions")
    expect(body["count"] == 3, body)
    status, _, body = request(A, "GET", "/v1/sessions?limit=1")
    expect(body["count"] == 1 and body["truncated"], body)
    error_of(400, request(A, "GET", "/v1/sessions?limit=0"))
    status, _, body = request(A, "GET", "/v1/sessions?uid=nobody")
    expect(body == {"sessions": [], "count": 0, "truncated": False, "nodes": 1,
                    "nodes_answered": 1}, body)

    env = {"ver": 1, "seq": 0, "action": "message.cli", "from": "system", "to": "alice",
           "data": {"hello": "from admin"}}
    status, _, body = request(A, "POST", "/v1/push", body={"to": "alice", "envelope": env})
    expect(status == 200 and body == {"sent": 2}, body)
    for c in (a1, a2):
        m = await c.recv("message.cli")
        expect(m["data"] == {"hello": "from admin"} and m["from"] == "system", m)
    status, _, body = request(A, "POST", "/v1/push", body={"to": "nobody", "envelope": env})
    expect(body == {"sent": 0}, body)
    msg = error_of(400, request(A, "POST", "/v1/push",
                                body={"to": "alice", "envelope": {"action": 7}}))
    expect("does not decode" in msg, msg)

    # A group made through the API is what the module checks membership against; removing
    # the member reaches the module at once (group_invalidate).
    status, _, body = request(A, "POST", "/v1/groups", body={"gid": "team",
                                                             "members": ["bob", "alice"]})
    expect(status == 201, body)
    # The group's ack.message carries the group sequence, not the request seq.
    await b.send("message.group", {"cliMid": "c1", "content": "hi", "type": 1}, to="team")
    reply = await b.recv(("ack.message", "notify.error"))
    expect(reply["action"] == "ack.message", reply)
    m = await a1.recv("message.group")
    expect(m["data"]["content"] == "hi", m)
    status, _, body = request(A, "DELETE", "/v1/groups/team/members/bob")
    expect(status == 200, body)
    # The group's ack.message carries the group sequence, not the request seq.
    await b.send("message.group", {"cliMid": "c2", "content": "hi", "type": 1}, to="team")
    reply = await b.recv(("ack.message", "notify.error"))
    expect(reply["action"] == "notify.error" and reply["data"] == "not member of channel",
           reply)

    status, _, body = request(A, "POST", "/v1/kick", body={"uid": "alice", "device": "phone"})
    expect(status == 200 and body == {"kicked": 1}, body)
    m = await a1.recv("notify.kickout")
    try:
        await asyncio.wait_for(a1.ws.recv(), TIMEOUT)
        raise AssertionError("no close after kick")
    except websockets.ConnectionClosed as e:
        expect(e.rcvd.code == 4001, e)
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        status, _, body = request(A, "GET", "/v1/sessions?uid=alice")
        if body["count"] == 1:
            break
        await asyncio.sleep(0.05)
    expect(body["count"] == 1 and body["sessions"][0]["device"] == "laptop", body)
    status, _, body = request(A, "POST", "/v1/kick", body={"uid": "alice"})
    expect(body == {"kicked": 1}, body)
    await b.ws.close()


check("sessions, push, group membership changes, kick over real sessions",
      lambda: run(sessions_scenario()))


def sample(text, name):
    m = re.search("^" + re.escape(name) + r" (\S+)$", text, re.M)
    if not m:
        raise AssertionError(f"{name} missing from /metrics:\n{text}")
    return float(m.group(1))


def t_metrics():
    deadline = time.time() + TIMEOUT
    while True:
        status, hdrs, text = request(A, "GET", "/metrics")
        expect(status == 200 and hdrs["Content-Type"].startswith("text/plain; version=0.0.4"),
               hdrs)
        if sample(text, "glide_connections") == 0 or time.time() > deadline:
            break
        time.sleep(0.05)
    expect(sample(text, "glide_connections") == 0, text)
    expect(sample(text, "glide_connections_accepted_total") == 3, text)
    expect(sample(text, 'glide_messages_received_total{action="authenticate"}') == 3, text)
    expect(sample(text, 'glide_messages_received_total{action="message.group"}') == 2, text)
    expect(sample(text, 'glide_messages_sent_total{action="hello"}') == 3, text)
    expect(sample(text, 'glide_messages_sent_total{action="message.cli"}') == 2, text)
    expect(sample(text, 'glide_messages_sent_total{action="notify.kickout"}') == 2, text)
    expect(sample(text, 'glide_session_closes_total{code="4001"}') == 2, text)
    expect(sample(text, 'glide_session_closes_total{code="1000"}') == 1, text)
    expect(sample(text, 'glide_sessions{state="authenticated"}') == 0, text)
    expect(sample(text, "glide_received_bytes_total") > 0, text)
    expect(sample(text, "glide_sent_bytes_total") > 0, text)
    calls = sample(text, "glide_store_latency_seconds_count")
    expect(calls >= 5, text)  # three replays, two group publishes
    expect(sample(text, 'glide_store_latency_seconds_bucket{le="+Inf"}') == calls, text)
    expect("# TYPE glide_store_latency_seconds histogram" in text, text)


check("GET /metrics counts what the sessions did", t_metrics)


def t_reload_token():
    with open(g.conf) as f:
        text = f.read()
    with open(g.conf, "w") as f:
        f.write(text.replace(TOKEN, "new-token-abcdefghijkl"))
    g.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + TIMEOUT
    while time.time() < deadline and "configuration reloaded" not in open(g.log).read():
        time.sleep(0.05)
    error_of(401, request(A, "GET", "/healthz"))
    status, _, _ = request(A, "GET", "/healthz", token="new-token-abcdefghijkl")
    expect(status == 200, status)


check("SIGHUP applies a new admin_token", t_reload_token)

check("glided exits 0 on SIGTERM", lambda: expect(g.stop() == 0, "exit code"))
loop.close()
subprocess.run(["rm", "-rf", TMP])
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
