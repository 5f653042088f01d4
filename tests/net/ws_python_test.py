#!/usr/bin/python3
"""End to end: an independent WebSocket client (Python's `websockets`, as Debian ships it)
against the module's transport (build/tests/net/helper_echo_server), plain and over TLS with a
self-signed certificate made here. Subprotocol selection, text and binary both ways, a large
message, clean closes started by either side (1000 on both ends), a refused upgrade, the
handshake timeout on a TLS listener, and drain on SIGTERM (1001).

Run from the repository root with B set to the build directory. Prints one line per check and
"N passed, N failed"; exits non-zero on any failure."""

import asyncio
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback

import websockets

B = os.environ.get("B", "build")
HELPER = os.path.join(B, "tests", "net", "helper_echo_server")
TIMEOUT = 20  # seconds for any single step; generous for a loaded machine

passed = 0
failed = 0


class Helper:
    """The echo server: its ports and the close codes it reports on stdout."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([HELPER, *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.ports = {}
        self.closes = []
        for line in self.proc.stdout:
            kind, _, value = line.strip().partition(" ")
            if kind == "ready":
                break
            self.ports[kind] = int(value)
        if "ws" not in self.ports:
            raise RuntimeError("helper_echo_server did not start")

    def wait_close(self, count):
        """Reads "close CODE" lines until `count` were seen; returns the codes."""
        while len(self.closes) < count:
            line = self.proc.stdout.readline()
            if not line:
                break
            kind, _, value = line.strip().partition(" ")
            if kind == "close":
                self.closes.append(int(value))
        return self.closes[:count]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def check(name, fn):
    global passed, failed
    try:
        fn()
        passed += 1
        print(f"ok   {name}", flush=True)
    except Exception:  # report every failure and go on
        failed += 1
        print(f"FAIL {name}", flush=True)
        traceback.print_exc()


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, TIMEOUT))


async def exchange(uri, subprotocols=None, want_subprotocol=None, ssl_ctx=None):
    async with websockets.connect(uri, subprotocols=subprotocols, ssl=ssl_ctx,
                                  server_hostname="localhost" if ssl_ctx else None,
                                  max_size=2 ** 21) as ws:
        assert ws.subprotocol == want_subprotocol, ws.subprotocol
        await ws.send("h\u00e9llo, \u4e16\u754c")
        assert await ws.recv() == "h\u00e9llo, \u4e16\u754c"
        await ws.send(b"\x00\x01\xfe\xff")
        assert await ws.recv() == b"\x00\x01\xfe\xff"
        big = bytes(range(256)) * 800  # 200 KiB: a 64-bit length, many TCP segments
        await ws.send(big)
        assert await ws.recv() == big
        await ws.send("")
        assert await ws.recv() == ""
        pong = await ws.ping(b"are you there")
        await pong
    assert ws.close_code == 1000, ws.close_code


async def server_closes(uri, ssl_ctx=None):
    async with websockets.connect(uri, ssl=ssl_ctx,
                                  server_hostname="localhost" if ssl_ctx else None) as ws:
        await ws.send("close-me")
        try:
            await ws.recv()
            raise AssertionError("the server did not close")
        except websockets.exceptions.ConnectionClosedOK as e:
            assert e.rcvd.code == 1000 and e.rcvd.reason == "bye", e
    assert ws.close_code == 1000, ws.close_code


async def refused(uri):
    try:
        async with websockets.connect(uri):
            pass
    except websockets.exceptions.InvalidStatusCode as e:
        assert e.status_code == 404, e.status_code
        return
    raise AssertionError("the upgrade was not refused")


async def drained(uri, helper):
    async with websockets.connect(uri) as ws:
        await ws.send("still here")
        assert await ws.recv() == "still here"
        helper.proc.send_signal(signal.SIGTERM)
        try:
            await ws.recv()
            raise AssertionError("no close on drain")
        except websockets.exceptions.ConnectionClosed as e:
            assert e.rcvd is not None and e.rcvd.code == 1001, e
            assert e.rcvd.reason == "server shutting down", e


def idle_tls_client_is_closed(port):
    """Connects to the TLS listener and says nothing: the handshake timeout closes it."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        data = s.recv(100)  # EOF (b"") or a reset
        assert data == b"", data
    assert time.monotonic() - start < TIMEOUT


def server_saw(helper, first, count, code):
    """The helper reported `code` for the sessions first..count (in order of their ends)."""
    codes = helper.wait_close(count)
    assert codes[first:] == [code] * (count - first), codes


def drain_and_exit(uri, helper):
    run(drained(uri, helper))
    rc = helper.proc.wait(TIMEOUT)
    assert rc == 0, f"helper exited with {rc}"


def main():
    if not os.path.exists(HELPER):
        print(f"{HELPER} is missing: build first (make)")
        print("0 passed, 1 failed")
        return 1
    tmp = tempfile.TemporaryDirectory()
    cert = os.path.join(tmp.name, "cert.pem")
    key = os.path.join(tmp.name, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    ctx = ssl.create_default_context(cafile=cert)

    helper = Helper("--ssl", cert, key, "--handshake-timeout", "500ms")
    ws = f"ws://127.0.0.1:{helper.ports['ws']}/ws"
    wss = f"wss://localhost:{helper.ports['wss']}/ws"
    try:
        check("ws: subprotocol glide.json, text and binary both ways, close 1000",
              lambda: run(exchange(ws, ["glide.json"], "glide.json")))
        check("ws: no subprotocol", lambda: run(exchange(ws)))
        check("ws: glide.protobuf chosen from several offers",
              lambda: run(exchange(ws, ["chat", "glide.protobuf"], "glide.protobuf")))
        check("ws: server-initiated close 1000", lambda: run(server_closes(ws)))
        check("ws: the server saw 1000 for every close", lambda: server_saw(helper, 0, 4, 1000))
        check("ws: wrong path refused with 404", lambda: run(refused(ws[:-3] + "/nope")))
        check("wss: subprotocol glide.json over TLS, close 1000",
              lambda: run(exchange(wss, ["glide.json"], "glide.json", ctx)))
        check("wss: no subprotocol over TLS", lambda: run(exchange(wss, ssl_ctx=ctx)))
        check("wss: server-initiated close 1000 over TLS",
              lambda: run(server_closes(wss, ctx)))
        check("wss: the server saw 1000 for every close", lambda: server_saw(helper, 4, 7, 1000))
        check("wss: an idle client is closed by the handshake timeout",
              lambda: idle_tls_client_is_closed(helper.ports["wss"]))
        check("drain on SIGTERM: close 1001, then the server exits 0",
              lambda: drain_and_exit(ws, helper))
    finally:
        helper.stop()
        tmp.cleanup()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
