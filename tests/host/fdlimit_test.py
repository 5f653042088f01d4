#!/usr/bin/python3
"""glided at its open-file limit (run under prlimit --nofile): connections beyond what it can
open are refused at once (the client sees the connection end; it does not hang in the
backlog), the condition is logged once when it starts and once when it ends (with the count
refused), and accepting resumes by itself once descriptors are free. A tcp listener with the
JSON codec: every accepted connection gets glide's hello at once, so "served" is visible.

Run from the repository root with B set to the build directory."""

import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

B = os.environ.get("B", "build")
# At the limit the sanitizers' runtime cannot work: UBSan's vptr check opens a pipe to test
# whether memory is readable, fails for want of a descriptor and reports a valid object as
# invalid. The plain build runs this test; the sanitizer build skips it.
with open(os.path.join(B, "config.mk")) as f:
    if "SANITIZERS := yes" in f.read():
        print("skipped: sanitizer build (its runtime needs descriptors of its own)")
        print("0 passed, 0 failed, 1 skipped")
        sys.exit(0)
GLIDED = os.path.abspath(os.path.join(B, "glided"))
MODULE = os.path.abspath(os.path.join(B, "libglide.so"))
NOFILE = 64

passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok - {name}", flush=True)
    else:
        failed += 1
        print(f"not ok - {name}\n    # {detail}", flush=True)


def hello(s, within):
    """The first message on a connection: its JSON text, b"" if the server closed, None if
    nothing came within `within` seconds."""
    s.settimeout(within)
    try:
        head = b""
        while len(head) < 4:
            chunk = s.recv(4 - len(head))
            if not chunk:
                return b""
            head += chunk
        (n,) = struct.unpack(">I", head)
        body = b""
        while len(body) < n:
            chunk = s.recv(n - len(body))
            if not chunk:
                return b""
            body += chunk
        return body
    except socket.timeout:
        return None
    except ConnectionResetError:
        return b""


tmp = tempfile.mkdtemp(prefix="glided-fdlimit.")
log = os.path.join(tmp, "glided.log")
conf = os.path.join(tmp, "glided.conf")
with open(conf, "w") as f:
    # The descriptors themselves are the limit here, not glide_max_connections (whose auto
    # value would stop glided well before it runs out).
    f.write(f"load_module {MODULE};\nstore memory;\nerror_log {log} info;\n"
            "glide_listen 127.0.0.1:0 tcp json;\nglide_max_connections off;\n")
proc = subprocess.Popen(["prlimit", f"--nofile={NOFILE}:{NOFILE}", GLIDED, "-c", conf],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
conns = []
try:
    port = None
    deadline = time.monotonic() + 10
    while port is None and time.monotonic() < deadline:
        time.sleep(0.05)
        if os.path.exists(log):
            for line in open(log):
                if "listening on 127.0.0.1:" in line:
                    port = int(line.split("listening on 127.0.0.1:")[1].split()[0])
    if port is None:
        print(open(log).read() if os.path.exists(log) else "no log")
        raise SystemExit("glided did not start")

    # Fill every descriptor glided has: each served connection gets its hello.
    refused_at = None
    for i in range(NOFILE + 16):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        h = hello(s, 5)
        if h:
            conns.append(s)
            continue
        refused_at = (i, h)
        s.close()
        break
    check(f"served {len(conns)} connections, then the next one is refused at once",
          refused_at is not None and refused_at[1] == b"" and len(conns) > NOFILE // 2,
          f"refused_at {refused_at}, served {len(conns)}")

    # More while out of descriptors: each ends at once, none hangs.
    started = time.monotonic()
    ended = 0
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        if hello(s, 5) == b"":
            ended += 1
        s.close()
    took = time.monotonic() - started
    check("20 more connections while out of descriptors: each refused at once",
          ended == 20 and took < 5, f"{ended} ended, {took:.2f} s")

    text = open(log).read()
    check("the condition is logged once when it starts",
          text.count("refusing new connections until file descriptors are free") == 1, text)

    # Free descriptors: accepting resumes by itself.
    for s in conns[:8]:
        s.close()
    conns = conns[8:]
    time.sleep(0.2)  # glided sees the closes
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    h = hello(s, 5)
    check("with descriptors free again a new connection is served", bool(h) and b'"hello"' in h,
          repr(h))
    conns.append(s)
    text = open(log).read()
    lines = [l for l in text.splitlines() if "connection(s) were refused while out of" in l]
    check("the end is logged once, with the count refused",
          len(lines) == 1 and "again: 21 connection(s)" in lines[0], text)
finally:
    for s in conns:
        s.close()
    proc.terminate()
    try:
        rc = proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = proc.wait()
    check("glided exits 0 on SIGTERM", rc == 0, f"rc {rc}")
    for name in os.listdir(tmp):
        os.unlink(os.path.join(tmp, name))
    os.rmdir(tmp)

print(f"{passed} passed, {failed} failed")
sys.exit(0 if failed == 0 else 1)
