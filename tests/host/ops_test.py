#!/usr/bin/python3
"""What operators and their tools read from a running glided.

The Grafana dashboard contrib/grafana/glide.json against its /metrics: every metric a query
of the dashboard names (panels and template variables) is one /metrics exports, every family
/metrics exports has a panel, counters (and the histogram's series) are only read through rate() or
increase() and gauges never, and every label a query groups by, selects on or shows in its
legend is one the metric carries. glided (one process, without glide_cluster: it exports
glide_cluster_nodes 1 all the same) gets a little traffic first, a guest's frames over a low
glide_limit_message_rate and a close, so that the labelled counters have series whose labels can
be read. Everything on loopback with port 0.

The log: every line glided wrote matches the regular expression of glided(8), LOGGING (read
from man/glided.8), with glided's pid.

Run from the repository root with B set to the build directory."""

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

import websockets

B = os.environ.get("B", "build")
GLIDED = os.path.abspath(os.path.join(B, "glided"))
MODULE = os.path.abspath(os.path.join(B, "libglide.so"))
DASHBOARD = "contrib/grafana/glide.json"
MANUAL = "man/glided.8"
TOKEN = "dashboard-test-token-0123456789"
TIMEOUT = 20
# Labels Prometheus adds to every series it scrapes.
TARGET_LABELS = {"instance", "job"}
# The functions whose argument is a counter's (or a histogram series') range.
RATE_FUNCTIONS = ("rate", "irate", "increase")

passed = failed = 0


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


def wait_until(what, ready):
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        if ready():
            return
        time.sleep(0.05)
    raise RuntimeError("timed out waiting for " + what)


# --- a running glided ----------------------------------------------------------------------

TMP = tempfile.mkdtemp(prefix="glided-dashboard.")
procs = []


LOG = os.path.join(TMP, "glided.log")


def start_glided():
    log = LOG
    conf = os.path.join(TMP, "glided.conf")
    open(log, "w").close()
    with open(conf, "w") as f:
        f.write(f"load_module {MODULE};\nerror_log {log} info;\nglide_listen 127.0.0.1:0;\n"
                f"admin_listen 127.0.0.1:0;\nadmin_token {TOKEN};\n"
                "credential_secret dashboard-test-secret;\n"
                # One frame a second: the guest's second frame is refused, so glide_limited_total
                # gets a series.
                "glide_limit_message_rate 1 burst=1;\nstore memory;\n")
    p = subprocess.Popen([GLIDED, "-c", conf], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    procs.append(p)
    ports = {}

    def ready():
        if p.poll() is not None:
            raise RuntimeError("glided exited: " + open(log).read())
        text = open(log).read()
        for key, pattern in (("ws", r"listening on 127\.0\.0\.1:(\d+)"),
                             ("admin", r"admin API on 127\.0\.0\.1:(\d+)")):
            m = re.search(pattern, text)
            if m:
                ports[key] = int(m.group(1))
        return len(ports) == 2
    wait_until("glided to log its ports", ready)
    return p, ports["ws"], ports["admin"]


async def traffic(ws_port):
    """A guest sends three frames of an action the module does not know, faster than the
    limit, reads what comes back and closes."""
    async with websockets.connect(f"ws://127.0.0.1:{ws_port}/ws") as ws:
        for seq in range(1, 4):
            await ws.send(json.dumps({"ver": 1, "seq": seq, "action": "dashboard.probe"}))
        for _ in range(3):
            try:
                await asyncio.wait_for(ws.recv(), 2)
            except asyncio.TimeoutError:
                break


def scrape(admin_port):
    req = urllib.request.Request(f"http://127.0.0.1:{admin_port}/metrics")
    req.add_header("Authorization", f"Bearer {TOKEN}")
    with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
        return r.read().decode()


def parse_metrics(text):
    """(families {name: type}, series {sample name: set of label keys})."""
    families, series = {}, {}
    for line in text.splitlines():
        m = re.match(r"# TYPE (\S+) (\S+)$", line)
        if m:
            families[m.group(1)] = m.group(2)
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+$", line)
        if m:
            keys = set(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', m.group(2) or ""))
            series.setdefault(m.group(1), set()).update(keys)
    return families, series


def family_names(name, kind):
    """The names a query can use for one family."""
    if kind == "histogram":
        return [name + "_bucket", name + "_sum", name + "_count"]
    return [name]


# --- the dashboard ---------------------------------------------------------------------------


def all_panels(panels):
    for p in panels:
        yield p
        yield from all_panels(p.get("panels", []))


def queries(dash):
    """(where, expr, legend) of every query: panel targets and query variables."""
    out = []
    for p in all_panels(dash["panels"]):
        for t in p.get("targets", []):
            out.append((f'panel "{p["title"]}"', t["expr"], t.get("legendFormat", "")))
    for v in dash["templating"]["list"]:
        if v["type"] == "query":
            q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
            out.append((f'variable "{v["name"]}"', q, ""))
    return out


def call_spans(expr, names):
    """(start, end) of the argument of every call of one of names in expr."""
    spans = []
    for m in re.finditer(r"\b(%s)\s*\(" % "|".join(names), expr):
        depth, i = 1, m.end()
        while i < len(expr) and depth:
            depth += {"(": 1, ")": -1}.get(expr[i], 0)
            i += 1
        spans.append((m.end(), i - 1))
    return spans


def metric_refs(expr):
    return [(m.group(0), m.start()) for m in re.finditer(r"\bglide_[a-z0-9_]+", expr)]


def query_labels(expr, legend):
    """Labels the query groups by, selects on, or shows in its legend."""
    labels = set()
    for m in re.finditer(r"\b(?:by|without)\s*\(([^)]*)\)", expr):
        labels.update(x.strip() for x in m.group(1).split(",") if x.strip())
    for m in re.finditer(r"\{([^}]*)\}", expr):
        labels.update(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*"', m.group(1)))
    labels.update(re.findall(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}", legend))
    return labels


# --- the checks ------------------------------------------------------------------------------


def main():
    with open(DASHBOARD) as f:
        dash = json.load(f)
    glided, ws_port, admin_port = start_glided()
    asyncio.run(traffic(ws_port))
    text = scrape(admin_port)
    families, series = parse_metrics(text)
    kinds = {}  # query name -> family type
    for fam, kind in families.items():
        for n in family_names(fam, kind):
            kinds[n] = kind
    qs = queries(dash)
    used = {n for _, expr, _ in qs for n, _ in metric_refs(expr)}

    def names_exported():
        bad = []
        for where, expr, _ in qs:
            for n, _ in metric_refs(expr):
                if n not in kinds:
                    bad.append(f"{where}: {n}")
        expect(not bad, "not exported by /metrics: " + ", ".join(sorted(set(bad))))
    check(f"every metric the dashboard's {len(qs)} queries name is exported by /metrics",
          names_exported)

    def families_shown():
        missing = [f for f, k in families.items()
                   if not any(n in used for n in family_names(f, k))]
        expect(not missing, "exported but in no query: " + ", ".join(missing))
    check(f"every family /metrics exports ({len(families)}) has a panel", families_shown)

    def rates():
        bad = []
        for where, expr, _ in qs:
            spans = call_spans(expr, RATE_FUNCTIONS)
            for n, pos in metric_refs(expr):
                kind = kinds.get(n)
                if kind is None or where.startswith("variable"):
                    continue
                inside = any(s <= pos < e for s, e in spans)
                if kind in ("counter", "histogram") and not inside:
                    bad.append(f"{where}: counter {n} outside rate()/increase()")
                if kind == "gauge" and inside:
                    bad.append(f"{where}: gauge {n} inside rate()/increase()")
        expect(not bad, "; ".join(bad))
    check("counters are read as rates, gauges as they are", rates)

    def labels():
        bad = []
        for where, expr, legend in qs:
            have = set(TARGET_LABELS)
            for n, _ in metric_refs(expr):
                have |= series.get(n, set())
            for label in query_labels(expr, legend) - have:
                bad.append(f"{where}: label {label} (metrics: {sorted(have)})")
        expect(not bad, "; ".join(bad))
    check("every label a query uses is one its metrics carry", labels)

    def labelled_series():
        # The traffic above gave each labelled counter a series (else the label check above
        # would have nothing to compare with).
        for n, label in (("glide_messages_received_total", "action"),
                         ("glide_messages_sent_total", "action"),
                         ("glide_session_closes_total", "code"),
                         ("glide_limited_total", "limit"), ("glide_sessions", "state")):
            expect(label in series.get(n, set()), f"no {n}{{{label}}} series in:\n{text}")
    check("the labelled metrics have series with their labels", labelled_series)

    def datasource():
        vars_ = {v["name"]: v for v in dash["templating"]["list"]}
        expect(vars_.get("datasource", {}).get("type") == "datasource" and
               vars_["datasource"].get("query") == "prometheus", "no Prometheus data source "
               "variable")
        bad = [p["title"] for p in all_panels(dash["panels"]) if p["type"] != "row" and
               p.get("datasource", {}).get("uid") != "${datasource}"]
        expect(not bad, "panels without the data source variable: " + ", ".join(bad))
    check("the data source is the variable ${datasource}", datasource)

    # After a reload and a drain, so that more of glided's lines are in the log.
    glided.send_signal(signal.SIGHUP)
    wait_until("the reload to be logged", lambda: "reload" in open(LOG).read())
    glided.send_signal(signal.SIGTERM)
    glided.wait(TIMEOUT)

    def log_format():
        with open(MANUAL) as f:
            found = [line.rstrip("\n") for line in f if line.startswith("^([0-9]{4})/")]
        expect(len(found) == 1, f"{MANUAL} has {len(found)} LOGGING expressions")
        pattern = re.compile(found[0].replace("\\e", "\\"))
        with open(LOG) as f:
            lines = f.read().splitlines()
        expect(len(lines) >= 5, f"only {len(lines)} lines: {lines}")
        bad = [line for line in lines if not pattern.match(line)]
        expect(not bad, "lines the expression does not match: " + repr(bad))
        pids = {pattern.match(line).group(8) for line in lines}
        expect(pids == {str(glided.pid)}, f"pids {pids}, glided is {glided.pid}")
        levels = {pattern.match(line).group(7) for line in lines}
        expect({"info", "notice"} <= levels, f"levels {levels}")
    check("every log line matches glided(8)'s expression, with glided's pid", log_format)


try:
    main()
except Exception:
    failed += 1
    traceback.print_exc()
finally:
    for p in reversed(procs):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    shutil.rmtree(TMP, ignore_errors=True)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
