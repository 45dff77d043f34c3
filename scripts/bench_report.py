#!/usr/bin/env python3
"""Writes docs/PERFORMANCE.md and docs/performance.svg from the results of scripts/bench.

Reads RESULTS/runs.jsonl (one line per run: section, system, op, connections, repeat, file, exit and the
commands), the load tool's JSON files it names (API.md section 11), RESULTS/machine.json, the memory
measurements and the webhook fan-out's extra files. Python's standard library only: the chart is written
by hand as SVG.

The text above the generated marker in an existing report is kept as it is, so the introduction can be
edited by hand; a report without the marker gets the default introduction below.
"""

import argparse
import glob
import html
import json
import math
import os
import re
import statistics
import sys

MARKER = "<!-- Everything below this line is written by scripts/bench_report.py: edit above it only. -->"

DEFAULT_INTRO = """# Performance

How fast reqstore is next to what people use in its place, measured on one machine in one run by
`scripts/bench`:

- **nginx** serving a ~300-byte JSON file: the HTTP ceiling of one core, the figure every other
  row is compared with;
- **json-server 0.17.4**: the stateful mock that test rigs use today;
- **etcd 3.4** compare-and-swap through its JSON gateway (`POST /v3/kv/txn`): the trusted CAS store,
  which fsyncs every commit as reqstore does by default;
- **reqstore** on GET by id, create (`POST /v1/requests`) and CAS PUT (`If-Match`), with
  `--durability fsync` (the default: a 2xx write is on disk) and with `buffered`.

## Method

- Every server listens on 127.0.0.1 and is pinned to CPU 0 (`taskset -c 0`) with one worker or
  I/O thread; the load generator `reqstore-load` is pinned to CPU 1. Exactly one server runs at a
  time, each run starts a fresh server on fresh data, and the systems take turns within each repeat
  so that drift of the machine spreads over all of them alike.
- The same connections, duration and warm-up for every system in a run; closed loop (each
  connection sends its next request when the answer arrives). Each cell is run with the
  many-connection count and with 1 connection, and repeated; the tables give the median and the
  min-max spread of the repeats. Latency percentiles come from the load tool's histogram.
- No server writes a log line per request (nginx `access_log off`, json-server `--quiet`, etcd
  `--log-level warn`, reqstore `{"log": {"access": false}}`); otherwise every server runs its
  shipped defaults. nginx keeps connections alive without its 1000-request cap.
- Reads and updates pick keys uniformly among the records set up before the measured part. A CAS
  row counts successful swaps per second (a conflict is retried and not counted), and every CAS run
  ends with the load tool's no-lost-update check. json-server's PUT replaces the object with no
  precondition: it is the nearest it has to an update.
- The load generator is checked too: the GET of nginx and of reqstore is measured again with `wrk`
  on the same CPU, so a row where `reqstore-load` rather than the server is the bottleneck shows.
- Webhook fan-out: reqstore (buffered) commits status changes and delivers them, signed, to
  `reqstore-sink` (on CPU 1 beside the load). `reqstore-load`'s webhook-fanout scenario reads every
  delivery back from the sink and gives the deliveries per second and the commit-to-delivery lag;
  the sink's own count and reqstore's `reqstore_webhook_delivery_lag_seconds` histogram check them.
- Memory: `VmRSS` from `/proc/PID/status` of a fresh server, then with idle keep-alive
  connections open (each has done one `GET /healthz`), held by a small asyncio client on CPU 1.
- Scaling: the same GET and CAS PUT runs (reqstore buffered) against a store of 10 thousand records
  and one of 10 million, the keys chosen uniformly among a random sample of at most a million
  records spread over the whole store.

Run it again with `scripts/bench` (about an hour on two cores: 20 minutes the scaling run with its
10-million-record load, 15 the cluster section; `scripts/bench --quick` is a two-minute smoke run that skips the scaling run,
and whose figures are not the ones of record). `scripts/bench --help` lists the options; raw results
stay in `bench-out/`. Run it on an otherwise idle machine: the report says when other work kept the
CPUs busy.
"""

SYSTEM_NAMES = {
    "nginx": "nginx (static file)",
    "json-server": "json-server 0.17.4",
    "etcd": "etcd 3.4 (JSON gateway)",
    "reqstore-fsync": "reqstore, fsync",
    "reqstore-buffered": "reqstore, buffered",
}
OP_NAMES = {
    ("nginx", "read"): "GET /data.json",
    ("json-server", "read"): "GET /posts/{id}",
    ("json-server", "create"): "POST /posts",
    ("json-server", "update"): "PUT /posts/{id} (no CAS)",
    ("etcd", "cas"): "CAS: POST /v3/kv/txn",
    ("reqstore-fsync", "read"): "GET by id",
    ("reqstore-fsync", "create"): "create (POST)",
    ("reqstore-fsync", "cas"): "CAS PUT (If-Match)",
    ("reqstore-buffered", "read"): "GET by id",
    ("reqstore-buffered", "create"): "create (POST)",
    ("reqstore-buffered", "cas"): "CAS PUT (If-Match)",
}
ORDER = [("nginx", "read"), ("json-server", "read"), ("json-server", "create"), ("json-server", "update"),
         ("etcd", "cas"), ("reqstore-fsync", "read"), ("reqstore-fsync", "create"), ("reqstore-fsync", "cas"),
         ("reqstore-buffered", "read"), ("reqstore-buffered", "create"), ("reqstore-buffered", "cas")]
COLORS = {"nginx": "#7f7f7f", "json-server": "#d62728", "etcd": "#9467bd", "reqstore-fsync": "#1f77b4",
          "reqstore-buffered": "#2ca02c"}


# ----------------------------------------------------------------------------------------------------------
# Reading the results

def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


class Cell:
    """The repeats of one (section, system, op, connections)."""

    def __init__(self, section, system, op, connections):
        self.section, self.system, self.op, self.connections = section, system, op, connections
        self.runs = []  # (manifest line, result or None)

    @property
    def results(self):
        return [r for _, r in self.runs if r is not None]

    def values(self, fn):
        out = []
        for r in self.results:
            try:
                v = fn(r)
            except (KeyError, TypeError, ValueError):
                continue
            if v is not None:
                out.append(float(v))
        return out

    def rps(self):
        """Requests per second; for CAS, successful swaps per second (conflicts left out)."""
        return self.values(swaps_per_s if self.op == "cas" else lambda r: r["rps"])

    def conflicts(self):
        return int(sum(self.values(lambda r: r.get("conflicts", 0))))

    def p50(self):
        return self.values(lambda r: r["latency_ms"]["p50"])

    def p99(self):
        return self.values(lambda r: r["latency_ms"]["p99"])

    def failed_runs(self):
        return sum(1 for m, r in self.runs if r is None or str(m.get("exit", "0")) != "0")

    def correctness(self):
        """(False, details) if a run failed its check; (True, "checked") if every run's was checked and
        held; (True, "statuses") if only the statuses were checked; (None, "") without results."""
        verdicts = [r.get("correctness") or {} for r in self.results]
        if any(v.get("ok") is False for v in verdicts):
            details = "; ".join(str(v.get("detail", "")) for v in verdicts if v.get("ok") is False)
            return False, details
        if not verdicts:
            return None, ""
        return True, ("checked" if all(v.get("checked") for v in verdicts) else "statuses")

    def check_text(self):
        ok, how = self.correctness()
        text = {None: "–", False: "**failed**"}.get(ok) or ("no lost update" if how == "checked" else "statuses ok")
        if self.failed_runs():
            text += f" ({self.failed_runs()} of {len(self.runs)} runs failed)"
        return text

    def non_2xx(self):
        total = 0
        for r in self.results:
            for code, n in (r.get("status") or {}).items():
                if not str(code).startswith("2"):
                    total += int(n)
        return total

    def errors(self):
        return int(sum(self.values(lambda r: r.get("errors", 0))))


def swaps_per_s(result):
    """Successful compare-and-swaps per second of the measured part: the requests less the conflicts
    (412 answers from reqstore, `succeeded: false` from etcd), over the measured duration."""
    duration = float(result["duration_s"])
    if duration <= 0:
        return None
    return (int(result["requests"]) - int(result.get("conflicts", 0))) / duration


def read_results(results_dir):
    manifest = os.path.join(results_dir, "runs.jsonl")
    cells, memory, loads = {}, [], []
    with open(manifest) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            m = json.loads(line)
            if m["section"] == "memory":
                memory.append((m, load_json(os.path.join(results_dir, m["file"]))))
                continue
            if m["section"] == "scaling-load":
                loads.append(m)
                continue
            key = (m["section"], m["system"], m["op"], int(m["connections"]))
            cell = cells.setdefault(key, Cell(*key))
            cell.runs.append((m, load_json(os.path.join(results_dir, m["file"]))))
    machine = load_json(os.path.join(results_dir, "machine.json")) or {}
    return cells, memory, loads, machine


# ----------------------------------------------------------------------------------------------------------
# Numbers as text

def median(values):
    return statistics.median(values) if values else None


def fmt_rate(v):
    if v is None:
        return "n/a"
    return f"{v:,.0f}" if v >= 100 else f"{v:,.1f}"


def fmt_ms(v):
    if v is None:
        return "n/a"
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    if v >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def with_spread(values, fmt):
    if not values:
        return "n/a"
    m = fmt(median(values))
    if len(values) == 1:
        return m
    return f"{m} ({fmt(min(values))}–{fmt(max(values))})"


def fmt_ratio(v):
    if v is None:
        return "n/a"
    return f"{v:.2f}x" if v < 10 else f"{v:,.1f}x"


def verdict(ok):
    return {True: "**met**", False: "**not met**", None: "not measured"}[ok]


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


# ----------------------------------------------------------------------------------------------------------
# Webhook fan-out and memory extras

def lag_p99_from_metrics(path):
    """The p99 of reqstore_webhook_delivery_lag_seconds as a bucket's upper bound (seconds), and the count."""
    try:
        text = open(path).read()
    except OSError:
        return None, 0
    buckets = []
    for m in re.finditer(r'^reqstore_webhook_delivery_lag_seconds_bucket\{(?:[^}]*,)?le="([^"]+)"[^}]*\}\s+(\S+)',
                         text, re.M):
        bound = math.inf if m.group(1) == "+Inf" else float(m.group(1))
        buckets.append((bound, float(m.group(2))))
    buckets.sort()
    if not buckets or buckets[-1][1] == 0:
        return None, 0
    total = buckets[-1][1]
    for bound, cumulative in buckets:
        if cumulative >= 0.99 * total:
            return bound, int(total)
    return math.inf, int(total)


def delivery_rate_from_samples(path):
    """Deliveries per second at the sink from the first to the last delivery, and the count."""
    points = []
    try:
        for line in open(path):
            parts = line.split()
            if len(parts) == 2:
                points.append((float(parts[0]), int(parts[1])))
    except (OSError, ValueError):
        return None, 0
    if len(points) < 2:
        return None, 0
    base = points[0][1]
    start = None
    for i, (t, n) in enumerate(points):
        if n > base:
            start = points[i - 1][0] if i > 0 else t
            break
    if start is None:
        return None, 0
    last_n = points[-1][1]
    end = next(t for t, n in points if n == last_n)
    if end <= start:
        return None, last_n - base
    return (last_n - base) / (end - start), last_n - base


def count(v):
    return f"{int(v):,}" if isinstance(v, (int, float)) else "n/a"


# ----------------------------------------------------------------------------------------------------------
# The chart

def svg_chart(cells, connections):
    rows = []
    for system, op in ORDER:
        cell = cells.get(("table", system, op, connections))
        if cell and cell.rps():
            rows.append(cell)
    if not rows:
        return None
    label_w, panel_w, gap, row_h, top, bottom = 300, 290, 40, 24, 58, 46
    width = label_w + 2 * panel_w + gap + 30
    height = top + row_h * len(rows) + bottom
    x_rps = label_w
    x_p99 = label_w + panel_w + gap
    max_rps = max(max(c.rps()) for c in rows)
    rps_scale = nice_ceiling(max_rps)
    p99s = [v for c in rows for v in c.p99() if v > 0]
    # At least half a decade below the smallest value, so that every bar has a length to compare.
    lo = 10 ** math.floor(math.log10(min(p99s) / 3)) if p99s else 0.01
    hi = 10 ** math.ceil(math.log10(max(p99s))) if p99s else 1
    if hi <= lo:
        hi = lo * 10

    def sx_rps(v):
        return x_rps + panel_w * v / rps_scale

    def sx_p99(v):
        v = max(v, lo)
        return x_p99 + panel_w * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))

    e = html.escape
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
           f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">'
           f'Throughput and p99 latency, {connections} connections, server on one core</text>',
           f'<text x="{x_rps + panel_w / 2}" y="44" text-anchor="middle" font-weight="bold">'
           f'requests per second (CAS: successful swaps)</text>',
           f'<text x="{x_p99 + panel_w / 2}" y="44" text-anchor="middle" font-weight="bold">'
           f'p99 latency, ms (log scale)</text>']
    axis_y = top + row_h * len(rows)
    for i in range(6):
        v = rps_scale * i / 5
        x = sx_rps(v)
        out.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{axis_y}" stroke="#e0e0e0"/>')
        out.append(f'<text x="{x:.1f}" y="{axis_y + 16}" text-anchor="middle" fill="#555">{short(v)}</text>')
    decade = lo
    while decade <= hi * 1.0001:
        x = sx_p99(decade)
        out.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{axis_y}" stroke="#e0e0e0"/>')
        out.append(f'<text x="{x:.1f}" y="{axis_y + 16}" text-anchor="middle" fill="#555">{decade:g}</text>')
        decade *= 10
    for i, cell in enumerate(rows):
        y = top + i * row_h
        color = COLORS.get(cell.system, "#333")
        label = f"{SYSTEM_NAMES.get(cell.system, cell.system)}: {OP_NAMES.get((cell.system, cell.op), cell.op)}"
        out.append(f'<text x="{label_w - 8}" y="{y + row_h / 2 + 4}" text-anchor="end">{e(label)}</text>')
        r = cell.rps()
        m = median(r)
        out.append(f'<rect x="{x_rps}" y="{y + 4}" width="{max(sx_rps(m) - x_rps, 1):.1f}" height="{row_h - 8}" '
                   f'fill="{color}"/>')
        if len(r) > 1:
            out.append(whisker(sx_rps(min(r)), sx_rps(max(r)), y + row_h / 2))
        out.append(f'<text x="{sx_rps(max(r)) + 4:.1f}" y="{y + row_h / 2 + 4}" fill="#222">{fmt_rate(m)}</text>')
        p = [v for v in cell.p99() if v > 0]
        if p:
            pm = median(p)
            out.append(f'<rect x="{x_p99}" y="{y + 4}" width="{max(sx_p99(pm) - x_p99, 1):.1f}" '
                       f'height="{row_h - 8}" fill="{color}" fill-opacity="0.75"/>')
            if len(p) > 1:
                out.append(whisker(sx_p99(min(p)), sx_p99(max(p)), y + row_h / 2))
            # Past the panel's edge the label goes inside its bar, in white.
            text_x, anchor, fill = sx_p99(max(p)) + 4, "start", "#222"
            if text_x > x_p99 + panel_w - 62:
                text_x, anchor, fill = sx_p99(pm) - 4, "end", "#fff"
            out.append(f'<text x="{text_x:.1f}" y="{y + row_h / 2 + 4}" text-anchor="{anchor}" fill="{fill}">'
                       f'{fmt_ms(pm)} ms</text>')
    out.append(f'<line x1="{x_rps}" y1="{top - 4}" x2="{x_rps}" y2="{axis_y}" stroke="#333"/>')
    out.append(f'<line x1="{x_p99}" y1="{top - 4}" x2="{x_p99}" y2="{axis_y}" stroke="#333"/>')
    out.append(f'<line x1="{x_rps}" y1="{axis_y}" x2="{x_rps + panel_w}" y2="{axis_y}" stroke="#333"/>')
    out.append(f'<line x1="{x_p99}" y1="{axis_y}" x2="{x_p99 + panel_w}" y2="{axis_y}" stroke="#333"/>')
    out.append(f'<text x="{width / 2}" y="{height - 8}" text-anchor="middle" fill="#555">'
               f'Bars: median of the repeats; whiskers: min-max. Longer is better on the left, shorter on the right.'
               f'</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def whisker(x1, x2, y):
    return (f'<line x1="{x1:.1f}" y1="{y}" x2="{x2:.1f}" y2="{y}" stroke="#000" stroke-width="1.2"/>'
            f'<line x1="{x1:.1f}" y1="{y - 4}" x2="{x1:.1f}" y2="{y + 4}" stroke="#000" stroke-width="1.2"/>'
            f'<line x1="{x2:.1f}" y1="{y - 4}" x2="{x2:.1f}" y2="{y + 4}" stroke="#000" stroke-width="1.2"/>')


def nice_ceiling(v):
    if v <= 0:
        return 1
    exp = 10 ** math.floor(math.log10(v))
    for step in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if v <= step * exp:
            return step * exp
    return 10 * exp


def short(v):
    if v >= 1000:
        return f"{v / 1000:g}k"
    return f"{v:g}"


# ----------------------------------------------------------------------------------------------------------
# The report

def targets(cells, memory, fanout, scaling, many):
    """Rows of (target, measured, needed, verdict) for the issue's targets."""

    def med(section, system, op, what, c=many):
        cell = cells.get((section, system, op, c))
        return median(getattr(cell, what)()) if cell else None

    rows = []

    def ratio_row(name, a, b, needed, at_least=True, detail=""):
        r = ratio(a, b)
        ok = None if r is None else (r >= needed if at_least else r <= needed)
        sign = "≥" if at_least else "≤"
        rows.append((name, f"{fmt_ratio(r)}{detail}" if r is not None else "n/a", f"{sign} {needed:g}x",
                     verdict(ok)))

    nginx_rps = med("table", "nginx", "read", "rps")
    nginx_p99 = med("table", "nginx", "read", "p99")
    get_rps = med("table", "reqstore-fsync", "read", "rps")
    get_p99 = med("table", "reqstore-fsync", "read", "p99")
    ratio_row(f"GET by id, {many} connections: req/s vs nginx", get_rps, nginx_rps, 0.8,
              detail=f" ({fmt_rate(get_rps)} vs {fmt_rate(nginx_rps)})")
    ratio_row(f"GET by id, {many} connections: p99 vs nginx p99", get_p99, nginx_p99, 1.5, at_least=False,
              detail=f" ({fmt_ms(get_p99)} vs {fmt_ms(nginx_p99)} ms)")
    wrk_nginx = med("client", "nginx", "read", "rps")
    wrk_get = med("client", "reqstore-fsync", "read", "rps")
    if wrk_nginx is not None or wrk_get is not None:
        ratio_row(f"GET by id, {many} connections: req/s vs nginx, both measured by wrk (cross-check)",
                  wrk_get, wrk_nginx, 0.8, detail=f" ({fmt_rate(wrk_get)} vs {fmt_rate(wrk_nginx)})")
        wrk_nginx_p99 = med("client", "nginx", "read", "p99")
        wrk_get_p99 = med("client", "reqstore-fsync", "read", "p99")
        ratio_row(f"GET by id, {many} connections: p99 vs nginx p99, both measured by wrk (cross-check)",
                  wrk_get_p99, wrk_nginx_p99, 1.5, at_least=False,
                  detail=f" ({fmt_ms(wrk_get_p99)} vs {fmt_ms(wrk_nginx_p99)} ms)")
    cas_buf = med("table", "reqstore-buffered", "cas", "rps")
    cas_fsync = med("table", "reqstore-fsync", "cas", "rps")
    etcd_cas = med("table", "etcd", "cas", "rps")
    ratio_row(f"CAS PUT, buffered, {many} connections: swaps/s vs nginx req/s", cas_buf, nginx_rps, 0.5,
              detail=f" ({fmt_rate(cas_buf)} vs {fmt_rate(nginx_rps)})")
    ratio_row(f"CAS PUT, fsync, {many} connections: swaps/s vs nginx req/s", cas_fsync, nginx_rps, 0.3,
              detail=f" ({fmt_rate(cas_fsync)} vs {fmt_rate(nginx_rps)})")
    ratio_row(f"CAS PUT, fsync, {many} connections: swaps/s vs etcd CAS swaps/s", cas_fsync, etcd_cas, 6,
              detail=f" ({fmt_rate(cas_fsync)} vs {fmt_rate(etcd_cas)})")
    for op, js_op, what in (("read", "read", "GET by id vs json-server GET"),
                            ("create", "create", "create vs json-server POST"),
                            ("cas", "update", "CAS PUT vs json-server PUT")):
        for durability in ("fsync", "buffered"):
            a = med("table", f"reqstore-{durability}", op, "rps")
            b = med("table", "json-server", js_op, "rps")
            ratio_row(f"{what}, {durability}", a, b, 10, detail=f" ({fmt_rate(a)} vs {fmt_rate(b)})")

    rate, lag = fanout.get("rate"), fanout.get("lag_p99_ms")
    rows.append(("Webhook fan-out: signed deliveries per second to reqstore-sink",
                 fmt_rate(rate), "≥ 10,000", verdict(None if rate is None else rate >= 10000)))
    rows.append(("Webhook fan-out: commit-to-delivery lag p99",
                 "n/a" if lag is None else f"{fmt_ms(lag)} ms", "≤ 100 ms",
                 verdict(None if lag is None else lag <= 100)))

    idle = [r["idle_rss_kib"] / 1024 for _, r in memory if r]
    held = [r["held_rss_kib"] / 1024 for _, r in memory if r and r.get("connections_opened") == r.get(
        "connections_wanted")]
    wanted = next((r["connections_wanted"] for _, r in memory if r), None)
    rows.append(("Resident memory, idle", with_spread(idle, lambda v: f"{v:.1f} MiB"), "≤ 64 MiB",
                 verdict(None if not idle else median(idle) <= 64)))
    rows.append((f"Resident memory, {wanted or 'n/a':,} idle keep-alive connections" if wanted else
                 "Resident memory, idle keep-alive connections",
                 with_spread(held, lambda v: f"{v:.1f} MiB"), "≤ 256 MiB",
                 verdict(None if not held or wanted < 10000 else median(held) <= 256)))

    for op, what in (("read", "GET"), ("cas", "CAS PUT")):
        small = scaling.get(("small", op))
        large = scaling.get(("large", op))
        ratio_row(f"{what} p99 with {scaling.get('large_keys', '10 million')} records vs "
                  f"{scaling.get('small_keys', '10 thousand')}", large, small, 1.5, at_least=False,
                  detail=f" ({fmt_ms(large)} vs {fmt_ms(small)} ms)" if large and small else "")
    return rows


CLUSTER_SYSTEMS = [("etcd", "etcd, one member"), ("reqstore-embedded", "reqstore, embedded RocksDB (fsync)"),
                   ("reqstore-pg-1", "reqstore on PostgreSQL, 1 node"),
                   ("reqstore-pg-3", "reqstore on PostgreSQL, 3 nodes")]


def writes_per_commit(results_dir, system, connections):
    """Writes the nodes committed per PostgreSQL commit during the CAS runs, over all repeats."""
    commits = batches = 0
    for path in glob.glob(os.path.join(results_dir, f"cluster.{system}.cas.c{connections}.r*.commits.json")):
        r = load_json(path) or {}
        try:
            c0, b0 = (int(x) for x in r["before"].split())
            c1, b1 = (int(x) for x in r["after"].split())
        except (KeyError, ValueError):
            continue
        commits += c1 - c0
        batches += b1 - b0
    return commits / batches if batches > 0 else None


def cluster_section(out, cells, results_dir, many):
    """scripts/bench's cluster section: CAS and GET through HAProxy, beside etcd and the embedded engine."""
    rows = [(system, name, c, op, cells.get(("cluster", system, op, c)))
            for c in ([many] + ([1] if many != 1 else [])) for system, name in CLUSTER_SYSTEMS
            for op in ("cas", "read")]
    rows = [r for r in rows if r[4]]
    if not rows:
        out.append("Not measured in this run (`scripts/bench --only cluster` runs it; a full run does by default).")
        out.append("")
        return
    out.append("`scripts/cluster` on loopback: reqstore nodes behind HAProxy (a record's requests to one node) on PostgreSQL 15 with a "
               "synchronous standby and pg_auto_failover's monitor, measured through HAProxy with three nodes "
               "and with one (the other two stopped). A single etcd member and the embedded engine (fsync) are "
               "measured in the same rounds. Every server process, the cluster's all together, runs on CPU 0 "
               "and the load on CPU 1, as everywhere in this report. \"writes per commit\": the writes the "
               "nodes committed over the PostgreSQL transactions that held them, during the CAS runs. "
               "docs/SCALING.md explains the figures.")
    out.append("")
    out.append("| system | operation | connections | requests/s | p50 ms | p99 ms | writes per commit | non-2xx | errors "
               "| check |")
    out.append("|---|---|--:|--:|--:|--:|--:|--:|--:|---|")
    for system, name, c, op, cell in rows:
        per_commit = writes_per_commit(results_dir, system, c) if op == "cas" and system.startswith("reqstore-pg") else None
        out.append(f"| {name} | {'CAS PUT' if op == 'cas' else 'GET by id'} | {c} | {with_spread(cell.rps(), fmt_rate)} | "
                   f"{fmt_ms(median(cell.p50()))} | {with_spread(cell.p99(), fmt_ms)} | "
                   f"{'' if per_commit is None else f'{per_commit:.1f}'} | {cell.non_2xx():,} | {cell.errors():,} | "
                   f"{cell.check_text()} |")
    out.append("")
    pg3 = cells.get(("cluster", "reqstore-pg-3", "cas", many))
    etcd = cells.get(("cluster", "etcd", "cas", many))
    if pg3 and etcd:
        r = ratio(median(pg3.rps()), median(etcd.rps()))
        out.append(f"Target: CAS through 3 nodes with a synchronous standby at least equal to a single etcd member's "
                   f"CAS rate, {many} connections: {fmt_ratio(r)} of etcd's, "
                   f"{verdict(None if r is None else r >= 1.0)}.")
        out.append("")
    failover = load_json(os.path.join(results_dir, "cluster.failover.json"))
    if failover:
        first = failover.get("first_2xx_after_kill_ms")
        out.append(f"Failover: the primary was killed (SIGKILL) while a client wrote through HAProxy every 20 ms. "
                   f"pg_auto_failover promoted the standby after {failover.get('promotion_ms', '?')} ms; the first "
                   f"write to succeed came {'never' if first is None else f'{first:,} ms'} after the kill, and "
                   f"{failover.get('attempts_failed', 0)} attempts failed meanwhile (statuses "
                   f"{', '.join(str(x) for x in failover.get('statuses_failed', [])) or 'none'}; 0 is no answer "
                   f"within 1 s).")
        out.append("")


def count_text(n):
    n = int(n)
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000} million"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000} thousand"
    return f"{n:,}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", required=True, help="the results directory of scripts/bench")
    ap.add_argument("--report", default="docs/PERFORMANCE.md")
    ap.add_argument("--svg", default=None, help="default: performance.svg beside the report")
    args = ap.parse_args()
    svg_path = args.svg or os.path.join(os.path.dirname(args.report) or ".", "performance.svg")

    cells, memory, loads, machine = read_results(args.results)
    many = int(machine.get("connections", 64))
    root_prefix = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def tidy(cmd):
        # Absolute paths of this checkout read better as relative ones.
        return cmd.replace(root_prefix + "/", "").strip()

    # Webhook fan-out: the sink's count and reqstore's lag histogram, per repeat.
    # Webhook fan-out: what the load tool measured (it reads every delivery back from the sink), with
    # two cross-checks of our own: the sink's accepted count sampled every 0.5 s, and reqstore's lag
    # histogram.
    fanout, fanout_rows = {}, []
    fanout_cell = next((c for k, c in cells.items() if k[0] == "fanout"), None)
    if fanout_cell:
        tool_rates, tool_lags = [], []
        for m, r in fanout_cell.runs:
            base = os.path.join(args.results, m["file"][:-len(".json")])
            hooks = (r or {}).get("webhooks") or {}
            row = {"repeat": m["repeat"], "result": r, "hooks": hooks,
                   "sink": load_json(base + ".sink.json") or {}}
            row["sink_rate"], row["sink_delivered"] = delivery_rate_from_samples(base + ".samples.txt")
            row["hist_lag_s"], row["hist_count"] = lag_p99_from_metrics(base + ".metrics.txt")
            if isinstance(hooks.get("deliveries_per_s"), (int, float)):
                tool_rates.append(float(hooks["deliveries_per_s"]))
            if isinstance((hooks.get("lag_ms") or {}).get("p99"), (int, float)):
                tool_lags.append(float(hooks["lag_ms"]["p99"]))
            fanout_rows.append(row)
        fanout["rate"] = median(tool_rates)
        fanout["lag_p99_ms"] = median(tool_lags)

    # Scaling: p99 medians by store size and operation.
    scaling = {}
    for size in ("small", "large"):
        for op in ("read", "cas"):
            cell = cells.get((f"scaling-{size}", "reqstore-buffered", op, many))
            if cell:
                scaling[(size, op)] = median(cell.p99())
    for m in loads:
        scaling[f"{m['size']}_keys"] = count_text(m["keys"])
        scaling[f"{m['size']}_load"] = m

    out = []
    intro = DEFAULT_INTRO
    if os.path.exists(args.report):
        existing = open(args.report).read()
        if MARKER in existing:
            intro = existing.split(MARKER)[0].rstrip() + "\n"
    out.append(intro)
    out.append(MARKER)
    out.append("")

    quick = str(machine.get("quick", "0")) == "1"
    out.append("## This run")
    out.append("")
    if quick:
        out.append("> **A quick smoke run** (`--quick`: one repeat of short runs, fewer keys"
                   + ("" if loads else ", no scaling run")
                   + "). It shows that every part of the benchmark works; its figures are not the ones of "
                   "record. Run `scripts/bench` for those.")
        out.append("")
    busy = [int(machine[k]) for k in ("busy_before", "busy_after") if str(machine.get(k, "")).isdigit()]
    if busy and max(busy) >= 10:
        out.append(f"> **Other work kept the CPUs busy** ({machine.get('busy_before', '?')}% before the run, "
                   f"{machine.get('busy_after', '?')}% after it, sampled over 2 s while none of the benchmark's "
                   "processes ran): it shared the cores with the servers and the load, so these figures are "
                   "noisy and the ratios unreliable.")
        out.append("")
    out.append("| | |")
    out.append("|---|---|")
    for key, label in (("date", "date (UTC)"), ("cpu", "CPU"), ("nproc", "cores"), ("memory", "memory"),
                       ("kernel", "kernel"), ("os", "OS"), ("loadavg", "load average at the start"),
                       ("busy_before", "CPU busy with other work before the run, %"),
                       ("busy_after", "CPU busy with other work after the run, %"), ("commit", "reqstore commit"),
                       ("reqstore", "reqstore"), ("nginx", "nginx"), ("etcd", "etcd"),
                       ("json_server", "json-server"), ("node", "Node.js"), ("command", "command")):
        if machine.get(key):
            value = f"`{machine[key]}`" if key == "command" else machine[key]
            out.append(f"| {label} | {value} |")
    repeats = machine.get("repeats", "?")
    out.append(f"| runs | {repeats} repeat{'' if str(repeats) == '1' else 's'} of {machine.get('duration_s', '?')} s measured "
               f"after {machine.get('warmup_s', '?')} s of warm-up, {many} connections and 1; "
               f"{int(machine.get('keys', 0)):,} records per store |")
    out.append("")

    out.append("## Targets of issue 6")
    out.append("")
    out.append(f"Ratios of medians from this run, {many} connections unless said otherwise; \"not measured\" "
               "where the run left that part out or it failed. CAS rates count successful swaps. Where the "
               "issue names no durability, reqstore's default (fsync) is the one judged, with buffered "
               "shown beside it.")
    out.append("")
    out.append("| target | measured | needed | verdict |")
    out.append("|---|---|---|---|")
    for row in targets(cells, memory, fanout, scaling, many):
        out.append("| " + " | ".join(row) + " |")
    out.append("")

    out.append("## Throughput and latency")
    out.append("")
    svg = svg_chart(cells, many)
    if svg:
        os.makedirs(os.path.dirname(os.path.abspath(svg_path)), exist_ok=True)
        with open(svg_path, "w") as f:
            f.write(svg)
        rel = os.path.relpath(svg_path, os.path.dirname(os.path.abspath(args.report)))
        out.append(f"![Throughput and p99 latency per system, {many} connections]({rel})")
        out.append("")
    out.append("Median of the repeats, with the min-max spread in parentheses. For CAS rows requests/s is "
               "the rate of successful swaps (conflicts left out, the load tool retries them). \"conflicts\" "
               "counts CAS conflicts (reqstore's 412, etcd's `succeeded: false`), \"non-2xx\" answers other "
               "than 2xx (412s among them), \"errors\" transport errors, all summed over the repeats. "
               "\"no lost update\": the load tool's check after a CAS run (every counter equals its "
               "acknowledged updates, every version readable); \"statuses ok\": every answer had an "
               "expected status.")
    out.append("")
    out.append("| system | operation | connections | requests/s | p50 ms | p99 ms | conflicts | non-2xx | errors "
               "| check |")
    out.append("|---|---|--:|--:|--:|--:|--:|--:|--:|---|")
    for c in ([many] + ([1] if many != 1 else [])):
        for system, op in ORDER:
            cell = cells.get(("table", system, op, c))
            if not cell:
                continue
            out.append(f"| {SYSTEM_NAMES.get(system, system)} | {OP_NAMES.get((system, op), op)} | {c} | "
                       f"{with_spread(cell.rps(), fmt_rate)} | {fmt_ms(median(cell.p50()))} | "
                       f"{with_spread(cell.p99(), fmt_ms)} | {cell.conflicts():,} | {cell.non_2xx():,} | "
                       f"{cell.errors():,} | {cell.check_text()} |")
    out.append("")
    failures = [(k, cell.correctness()[1]) for k, cell in cells.items() if cell.correctness()[0] is False]
    if failures:
        out.append("Correctness failures reported by the load tool:")
        out.append("")
        for (section, system, op, c), detail in failures:
            out.append(f"- {section} {system} {op}, {c} connections: {detail}")
        out.append("")

    out.append("## Load generator check")
    out.append("")
    client = [(system, cells.get(("client", system, "read", many)), cells.get(("table", system, "read", many)))
              for system in ("nginx", "reqstore-fsync")]
    if not any(c for _, c, _ in client):
        out.append("Not measured in this run.")
        out.append("")
    else:
        out.append(f"The same GET, {many} connections, measured by `wrk -t1` on the load's CPU right after "
                   "`reqstore-load` on the same server (wrk requests one record over and over; reqstore-load "
                   "chooses among all keys). Where reqstore-load gets clearly less out of a server than wrk "
                   "does, the load generator, not the server, is the bottleneck of that row.")
        out.append("")
        out.append("| server | reqstore-load req/s | wrk req/s | reqstore-load / wrk | reqstore-load p99 ms | wrk p99 ms |")
        out.append("|---|--:|--:|--:|--:|--:|")
        limited = []
        for system, wrk_cell, tool_cell in client:
            if not wrk_cell:
                continue
            tool_rps = median(tool_cell.rps()) if tool_cell else None
            wrk_rps = median(wrk_cell.rps())
            share = ratio(tool_rps, wrk_rps)
            if share is not None and share < 0.9:
                limited.append((system, share))
            out.append(f"| {SYSTEM_NAMES.get(system, system)}: {OP_NAMES.get((system, 'read'), 'GET')} | "
                       f"{fmt_rate(tool_rps)} | {with_spread(wrk_cell.rps(), fmt_rate)} | "
                       f"{'n/a' if share is None else f'{share:.0%}'} | "
                       f"{fmt_ms(median(tool_cell.p99())) if tool_cell else 'n/a'} | "
                       f"{with_spread(wrk_cell.p99(), fmt_ms)} |")
        out.append("")
        if limited:
            out.append("reqstore-load reached only "
                       + ", ".join(f"{share:.0%} of wrk's rate on {SYSTEM_NAMES.get(system, system)}"
                                   for system, share in limited)
                       + ": those rows (and the ratios built on them) measure the load generator as much as "
                       "the server; the wrk cross-check rows of the targets compare the servers with wrk on "
                       "both sides.")
            out.append("")

    out.append("## Webhook fan-out")
    out.append("")
    if not fanout_rows:
        out.append("Not measured in this run.")
        out.append("")
    else:
        out.append(f"`reqstore-load --scenario webhook-fanout`, {many} connections: reqstore (buffered) commits "
                   "status changes (CAS PUTs flipping `pending`/`active`), and delivers each one, signed, to "
                   "`reqstore-sink`. The load tool reads every delivery back from the sink, checks that every "
                   "committed version arrived in order, and measures the deliveries per second and the "
                   "commit-to-delivery lag. Two cross-checks: the sink's accepted count sampled every 0.5 s "
                   "(first to last delivery), and the bucket of reqstore's own "
                   "`reqstore_webhook_delivery_lag_seconds` histogram that holds its 99th percentile.")
        out.append("")
        out.append("| repeat | updates/s | deliveries/s | lag p50 / p99 / max ms | committed | delivered | "
                   "missing | out of order | duplicates | bad signatures | sink-sampled deliveries/s | "
                   "reqstore lag p99 | check |")
        out.append("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|")
        for row in fanout_rows:
            r, hooks, sink = row["result"] or {}, row["hooks"], row["sink"]
            lag = hooks.get("lag_ms") or {}
            hist = row["hist_lag_s"]
            hist_text = "n/a" if hist is None else ("> 1 h" if hist == math.inf else f"≤ {fmt_ms(hist * 1000)} ms")
            ok = (r.get("correctness") or {}).get("ok")
            check = {True: "in order, none missing", False: "**failed**", None: "–"}[ok]
            out.append(f"| {row['repeat']} | {fmt_rate(swaps_per_s(r) if r else None)} | "
                       f"{fmt_rate(hooks.get('deliveries_per_s'))} | "
                       f"{fmt_ms(lag.get('p50'))} / {fmt_ms(lag.get('p99'))} / {fmt_ms(lag.get('max'))} | "
                       f"{count(hooks.get('committed'))} | {count(hooks.get('delivered'))} | "
                       f"{count(hooks.get('missing'))} | {count(hooks.get('out_of_order'))} | "
                       f"{count(hooks.get('duplicates'))} | {count(sink.get('bad_signature'))} | "
                       f"{fmt_rate(row['sink_rate'])} | {hist_text} | {check} |")
        out.append("")
        paced = [row for row in fanout_rows if row["result"] and isinstance(
            row["hooks"].get("deliveries_per_s"), (int, float)) and swaps_per_s(row["result"])
                 and row["hooks"]["deliveries_per_s"] >= 0.9 * swaps_per_s(row["result"])]
        if paced:
            out.append("Every status change is one delivery, so deliveries cannot outpace the updates that cause "
                       "them, and here they keep up with them. The updates and their deliveries share "
                       "reqstore's one core (`--threads 1`), so the update rate here is below the CAS row's: "
                       "the delivery work takes its share of that core.")
            out.append("")
        for row in fanout_rows:
            r = row["result"] or {}
            if (r.get("correctness") or {}).get("ok") is False:
                out.append(f"- repeat {row['repeat']}: {r['correctness'].get('detail', '')}")
                out.append("")

    out.append("## Memory")
    out.append("")
    if not memory:
        out.append("Not measured in this run.")
        out.append("")
    else:
        out.append("`VmRSS` of `reqstore --threads 1` (fsync), from `/proc/PID/status`.")
        out.append("")
        out.append("| repeat | idle | idle keep-alive connections open | with them open |")
        out.append("|--:|--:|--:|--:|")
        for m, r in memory:
            if not r:
                out.append(f"| {m['repeat']} | failed | | |")
                continue
            opened = f"{r['connections_opened']:,} of {r['connections_wanted']:,}"
            if r.get("open_connections_metric") is not None:
                opened += f" (server's gauge: {int(r['open_connections_metric']):,})"
            if r.get("connection_errors"):
                opened += f"; {r['connection_errors']:,} failed: {r.get('first_error', '')}"
            out.append(f"| {m['repeat']} | {r['idle_rss_kib'] / 1024:.1f} MiB | {opened} | "
                       f"{r['held_rss_kib'] / 1024:.1f} MiB |")
        out.append("")

    out.append("## Scaling")
    out.append("")
    scale_cells = [cells.get((f"scaling-{size}", "reqstore-buffered", op, many))
                   for size in ("small", "large") for op in ("read", "cas")]
    if not any(scale_cells) and not loads:
        out.append("Not measured in this run (`scripts/bench --scaling` runs it; a full run does by default).")
        out.append("")
    else:
        sample = int(machine.get("scale_sample", 0) or 0)
        out.append(f"reqstore (buffered), {many} connections, the same GET and CAS PUT runs against a store of "
                   f"each size. The records are created by `reqstore-load` first (load time below); each run "
                   f"then chooses its keys uniformly among "
                   + (f"a random sample of {sample:,} records spread over the whole store (all of them when "
                      "the store holds no more): the load tool reads every key it is given before a run and "
                      f"checks every CAS key after it, which for all {scaling.get('large_keys', 'of them')} "
                      "would outlast the runs."
                      if sample else "all the records of the store.")
                   + " Each store is measured at rest: after the load, the runs wait until RocksDB has no "
                   "compaction running or pending (the wait is given below). The whole store fits in this "
                   "machine's page cache: this measures the index, the bloom filters and RocksDB's block cache "
                   "(128 MiB by default), not the disk.")
        out.append("")
        out.append("| records | load time | compactions after it | operation | requests/s | p50 ms | p99 ms | check |")
        out.append("|--:|--:|--:|---|--:|--:|--:|---|")
        for size in ("small", "large"):
            load = scaling.get(f"{size}_load") or {}
            if load and str(load.get("exit", "0")) != "0":
                out.append(f"| {scaling.get(f'{size}_keys', size)} | **loading failed** after "
                           f"{load.get('seconds', '?')} s | | | | | | |")
                continue
            for op in ("read", "cas"):
                cell = cells.get((f"scaling-{size}", "reqstore-buffered", op, many))
                if not cell:
                    continue
                out.append(f"| {scaling.get(f'{size}_keys', size)} | {load.get('seconds', '?')} s | "
                           f"{load.get('compaction_wait', '?')} s | "
                           f"{'GET by id' if op == 'read' else 'CAS PUT'} | {with_spread(cell.rps(), fmt_rate)} | "
                           f"{fmt_ms(median(cell.p50()))} | {with_spread(cell.p99(), fmt_ms)} | "
                           f"{cell.check_text()} |")
        out.append("")

    out.append("## Beyond one machine")
    out.append("")
    cluster_section(out, cells, args.results, many)

    out.append("## Commands")
    out.append("")
    out.append("The servers and load runs of the first repeat, as `scripts/bench` ran them. Ports are picked "
               "free for each run, paths are relative to the repository, and the 1-connection runs are the "
               "same with `--connections 1`.")
    out.append("")
    out.append("```sh")
    seen = set()

    def emit(*commands):
        for cmd in commands:
            cmd = tidy(cmd)
            if cmd and cmd not in seen:
                seen.add(cmd)
                out.append(cmd)

    ordered = sorted((c for c in cells.values() if c.connections == many),
                     key=lambda c: ({"table": 0, "client": 0, "fanout": 1}.get(c.section, 2),
                                    "" if c.section in ("table", "client") else c.section,
                                    ORDER.index((c.system, c.op)) if (c.system, c.op) in ORDER else 99,
                                    c.section != "table"))
    for m, _ in memory[:1]:
        ordered.insert(next((i for i, c in enumerate(ordered) if c.section.startswith("scaling")), len(ordered)),
                       ("memory", m))
    for item in ordered:
        if isinstance(item, tuple):
            emit(item[1].get("server", ""), item[1].get("load", ""))
        else:
            m = item.runs[0][0]
            if item.section.startswith("scaling"):
                for load in loads:
                    if item.section == f"scaling-{load.get('size')}":
                        emit(load.get("server", ""), load.get("load", ""))
            emit(*m.get("server", "").split("\n"), m.get("load", ""))
        if out[-1] != "":
            out.append("")
    while out[-1] == "":
        out.pop()
    out.append("```")
    out.append("")

    os.makedirs(os.path.dirname(os.path.abspath(args.report)), exist_ok=True)
    with open(args.report, "w") as f:
        f.write("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
