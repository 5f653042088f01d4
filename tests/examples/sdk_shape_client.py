#!/usr/bin/python3
"""Two glide clients that put on the wire what glide's TypeScript SDK (v1.6, in a browser)
puts there, as tests/module's test_ts_sdk_compat emulates it, against a server's /ws:

    sdk_shape_client.py URL UID_A CREDENTIAL_A UID_B CREDENTIAL_B

URL is ws://HOST:PORT/PATH; the credentials are glide's (`glidectl credential`) for the users
UID_A (A) and UID_B (B). What the SDK does and relies on, checked here:
- the upgrade: no subprotocol, and the browser's `permessage-deflate; client_max_window_bits`
  offer (Python's `websockets` makes that offer by default), which the server declines: the
  101 has neither Sec-WebSocket-Protocol nor Sec-WebSocket-Extensions;
- `hello` first; every frame sent carries `"ver":1` and `"to":null, "extra":null` unless it
  has a receiver; `authenticate` is answered by `notify.success` with its seq;
- A's `message.chat` (`"extra":null`) is answered by `ack.message` whose data.cliMid is A's;
  B gets it (the same mid, from A); B's v1.6 `ack.request {mid, from}` brings A `ack.notify`
  with that mid;
- `internal.online` gets `notify.forbidden` and an unknown action `notify.unknown.action`,
  each with the request's seq; a frame that is not JSON gets `notify.error`, and a chat with
  `"to":null` gets `notify.error "message has no receiver"` with its seq: errors in JSON too;
- every frame either client received is a text frame of valid JSON with an `action`; neither
  connection was closed by the server.

Prints one line per check as tests/support/checks.sh does ("ok - ..." or "not ok - ..." with
indented "# " details), stops at the first failed check, and exits 0 only when every check
passed. Every wait is bounded (STEP seconds each, TOTAL for the whole run): it never hangs."""

import asyncio
import json
import sys

import websockets

STEP = 15  # seconds for any one answer: generous on a loaded 2-core machine
TOTAL = 90  # seconds for the whole run
CLI_MID = "sdk-1"


class Failed(Exception):
    """A check that failed: its name and what was seen instead."""

    def __init__(self, name, detail):
        super().__init__(name, detail)
        self.name, self.detail = name, detail


def ok(name):
    print(f"ok - {name}", flush=True)


def frame(seq, action, data, to=None):
    """A frame as the SDK builds it: every field present, null where it has nothing."""
    return json.dumps({"ver": 1, "seq": seq, "action": action, "to": to, "extra": None,
                       "data": data}, separators=(",", ":"))


class Client:
    """One SDK-shaped connection: keeps every frame it received (decoded) in order, and the
    frames that were binary or not JSON objects with an action (there must be none)."""

    def __init__(self, name, ws):
        self.name = name
        self.ws = ws
        self.seen = []  # decoded envelopes, in arrival order
        self.used = 0  # how many of `seen` an earlier wait consumed or skipped
        self.bad = []  # (reason, frame) of every frame of the wrong kind

    async def send(self, text):
        await self.ws.send(text)  # a str: a text frame, as the SDK sends

    async def read(self, deadline):
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise asyncio.TimeoutError
        raw = await asyncio.wait_for(self.ws.recv(), left)
        if not isinstance(raw, str):
            self.bad.append(("binary frame", raw[:200]))
            return
        try:
            env = json.loads(raw)
        except ValueError as e:
            self.bad.append((f"not JSON ({e})", raw[:200]))
            return
        if not isinstance(env, dict) or not isinstance(env.get("action"), str):
            self.bad.append(("not an envelope with an action", raw[:200]))
            return
        self.seen.append(env)

    async def wait(self, what, action, seq=None, match=None):
        """The first frame not yet looked at with `action` (and `seq`, and `match(data)`);
        the frames before it are skipped (the server's order across actions is not the
        protocol's promise). Fails at once on another answer with that seq, else with what
        arrived instead after STEP seconds."""
        deadline = asyncio.get_running_loop().time() + STEP
        while True:
            for i in range(self.used, len(self.seen)):
                env = self.seen[i]
                if seq is not None and env.get("seq") == seq and env["action"] != action:
                    raise Failed(what, f"{self.name} got {env} instead of {action}")
                if env["action"] != action or (seq is not None and env.get("seq") != seq):
                    continue
                if match is not None and not match(env.get("data")):
                    continue
                self.used = i + 1
                return env
            try:
                await self.read(deadline)
            except asyncio.TimeoutError:
                raise Failed(what, f"{self.name} got no {action}"
                             f"{'' if seq is None else f' with seq {seq}'} within {STEP} s; "
                             f"it got {self.seen[self.used:] or 'nothing'}") from None
            except websockets.ConnectionClosed as e:
                raise Failed(what, f"{self.name}'s connection was closed "
                             f"({e.code} {e.reason!r}) while waiting for {action}; "
                             f"it got {self.seen[self.used:]}") from None


def check(name, cond, detail):
    if not cond:
        raise Failed(name, detail)
    ok(name)


async def connect(url, name):
    # The defaults are the browser's offer: no subprotocol, permessage-deflate with
    # client_max_window_bits. No pings of our own: a browser sends none.
    ws = await asyncio.wait_for(websockets.connect(url, ping_interval=None, max_size=None,
                                                   open_timeout=STEP), STEP)
    offer = ws.request_headers.get("Sec-WebSocket-Extensions", "")
    if "permessage-deflate" not in offer:
        raise Failed("the upgrade offers permessage-deflate", f"{name} offered {offer!r}")
    head = {k.lower(): v for k, v in ws.response_headers.raw_items()}
    for h in ("sec-websocket-extensions", "sec-websocket-protocol"):
        if h in head:
            raise Failed("the 101 has no subprotocol and declines permessage-deflate",
                         f"{name}'s 101 has {h}: {head[h]!r} (offered: {offer!r} and no "
                         "subprotocol)")
    return Client(name, ws)


async def run(url, users):
    (uid_a, cred_a), (uid_b, cred_b) = users
    a = await connect(url, uid_a)
    b = await connect(url, uid_b)
    clients = (a, b)
    try:
        ok("the 101 answers the SDK's upgrade without subprotocol and declines "
           "permessage-deflate")

        for c, cred in ((a, cred_a), (b, cred_b)):
            await c.wait("hello first", "hello")
            if c.used != 1 or c.bad:
                raise Failed("hello first", f"{c.name}'s first frame: {(c.bad or c.seen)[0]}")
            await c.send(frame(1, "authenticate", {"version": 1, "credential": cred}))
            await c.wait("authenticate", "notify.success", seq=1)
            await c.send(frame(2, "heartbeat", None))
        ok(f"hello first; authenticate gets notify.success with its seq ({uid_a}, {uid_b})")

        # The SDK's chat: a receiver, and "extra": null.
        await a.send(json.dumps(
            {"ver": 1, "seq": 3, "action": "message.chat", "to": uid_b, "extra": None,
             "data": {"cliMid": CLI_MID, "from": uid_a, "to": uid_b, "type": 1,
                      "content": "hi from the SDK", "sendAt": 1720000000}},
            separators=(",", ":")))
        ack = await a.wait("message.chat", "ack.message",
                           match=lambda d: isinstance(d, dict) and d.get("cliMid") == CLI_MID)
        mid = ack["data"].get("mid")
        check(f"{uid_a}'s message.chat with \"extra\":null gets ack.message on its cliMid",
              isinstance(mid, int) and mid > 0, f"ack.message without a mid: {ack}")

        got = await b.wait("delivery", "message.chat")
        d = got.get("data") or {}
        check(f"{uid_b} gets it (the same mid, from {uid_a}, the content)",
              d.get("mid") == mid and d.get("from") == uid_a and
              d.get("content") == "hi from the SDK", f"{uid_b} got {got}; the ack was {ack}")

        await b.send(frame(0, "ack.request", {"mid": mid, "from": uid_a}))
        note = await a.wait("ack.request", "ack.notify")
        check(f"{uid_b}'s v1.6 ack.request {{mid, from}} brings {uid_a} ack.notify with that mid",
              (note.get("data") or {}).get("mid") == mid, f"{uid_a} got {note}")

        await a.send(frame(4, "internal.online", uid_a))
        await a.wait("internal.online", "notify.forbidden", seq=4)
        ok("internal.online gets notify.forbidden with its seq")
        await a.send(frame(5, "api.unknown", None))
        unk = await a.wait("unknown action", "notify.unknown.action", seq=5)
        check("an unknown action gets notify.unknown.action with its seq",
              unk.get("data") == "api.unknown", f"{uid_a} got {unk}")
        await a.send('{"seq":6,"action":')  # not JSON
        await a.wait("a frame that is not JSON", "notify.error")
        await a.send(frame(7, "message.chat", {"cliMid": "sdk-2"}))  # "to": null
        err = await a.wait("a chat to null", "notify.error", seq=7)
        check("errors come in JSON: not JSON → notify.error; \"to\":null → "
              "\"message has no receiver\" with its seq",
              err.get("data") == "message has no receiver", f"{uid_a} got {err}")

        # A round trip each (answered in order on one connection): whatever the server
        # queued before it has arrived, so the frame checks below see everything.
        for c in clients:
            await c.send(frame(8, "api.sync", None))
            await c.wait("sync", "notify.unknown.action", seq=8)
        bad = [f"{c.name}: {why}: {raw!r}" for c in clients for why, raw in c.bad]
        check(f"every frame {uid_a} and {uid_b} received is a text frame of valid JSON "
              f"({len(a.seen)} and {len(b.seen)} frames)", not bad, "; ".join(bad))
        closed = [f"{c.name} ({c.ws.close_code})" for c in clients if c.ws.closed]
        check("neither connection was closed by the server", not closed, ", ".join(closed))
    finally:
        for c in clients:
            try:
                await asyncio.wait_for(c.ws.close(), STEP)
            except Exception:  # the checks have spoken; closing is best effort
                pass


def not_ok(name, detail):
    print(f"not ok - {name}", flush=True)
    for line in str(detail).splitlines() or [""]:
        print(f"    # {line}", flush=True)


def main():
    if len(sys.argv) != 6:
        print("usage: sdk_shape_client.py URL UID_A CREDENTIAL_A UID_B CREDENTIAL_B",
              file=sys.stderr)
        return 2
    url, users = sys.argv[1], (sys.argv[2:4], sys.argv[4:6])
    try:
        asyncio.run(asyncio.wait_for(run(url, users), TOTAL))
    except Failed as e:
        not_ok(e.name, e.detail)
    except asyncio.TimeoutError:
        not_ok("the SDK-shaped clients finish", f"not within {TOTAL} s")
    except Exception as e:  # a refused connection, a failed upgrade, a bug here: said once
        not_ok("the SDK-shaped clients run", f"{url}: {type(e).__name__}: {e}")
    else:
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
