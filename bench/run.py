#!/usr/bin/python3
"""slotgate benchmark harness: redis-benchmark against a 3+3 Redis Cluster, directly and through
slotgate, alternating A B A B, with medians, ratios, slotgate CPU per request, latency overhead,
RSS under 10,000 idle clients and a 1-thread vs 2-thread scaling check; optionally (--unix) a unix
socket vs loopback TCP to slotgate, and (--tls) TLS to the nodes (bench/tls_row.py).

    python3 bench/run.py [--quick] [--rounds N] [--json PATH] [--slotgate PATH] [--unix]
    python3 bench/run.py --quick --only unix      the unix socket comparison alone
    python3 bench/run.py --quick --only tls       the TLS row alone

What every test sends, the output columns and the JSON-lines format are described in
bench/README.md. Loopback only; every process started here is stopped on exit.
"""

import argparse
import contextlib
import json
import math
import os
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import traceback

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "test", "support"))

from cluster import HOST, RedisCluster, Slotgate, key_slot  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proc_counters  # noqa: E402  (bench/proc_counters.py)

CLK_TCK = os.sysconf("SC_CLK_TCK")
VALUE = "VXK"  # redis-benchmark's own 3-byte default value
DEFAULT_KEYSPACE = 100000


def progress(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------
# /proc readings
# ----------------------------------------------------------------------------------------------

def cpu_seconds(pid):
    """utime + stime of a whole process (all threads), in seconds; None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(rest[11]) + int(rest[12])) / CLK_TCK  # fields 14 and 15 of stat(5)


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def _die_with_parent():
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def raise_nofile(wanted):
    """Soft RLIMIT_NOFILE to the hard limit (children such as slotgate inherit it). As root, also
    lifts a hard limit below `wanted`. Returns the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            return wanted
        except (ValueError, OSError):
            pass
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    except (ValueError, OSError):
        pass
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


# ----------------------------------------------------------------------------------------------
# redis-benchmark
# ----------------------------------------------------------------------------------------------

class Target:
    """Where a redis-benchmark run goes: the cluster itself (--cluster) or a slotgate."""

    def __init__(self, name, port, cluster_mode, pid=None, unix_socket=None, threads=None):
        self.name = name
        self.port = port
        self.cluster_mode = cluster_mode
        self.pid = pid  # process whose CPU is charged to the run (slotgate), or None
        self.unix_socket = unix_socket  # connect there (redis-benchmark -s) instead of the port
        self.threads = threads  # slotgate's --threads


class Test:
    """One benchmark. `builtin` is a redis-benchmark -t name; otherwise `direct_cmd` and
    `gate_cmd` are the command lines sent to the cluster (--cluster, with {tag}) and through
    slotgate. `prepare(ctx, test, clients, n)` runs after calibration, before the rounds; `cleanup(ctx)`
    after the test."""

    def __init__(self, name, label, pipeline=1, builtin=None, direct_cmd=None, gate_cmd=None,
                 keyspace=DEFAULT_KEYSPACE, data_size=None, data=None, prepare=None, cleanup=None):
        self.name = name
        self.label = label
        self.pipeline = pipeline
        self.builtin = builtin
        self.direct_cmd = direct_cmd
        self.gate_cmd = gate_cmd
        self.keyspace = keyspace
        self.data_size = data_size
        self.data = data  # (value size, keyspace) of the string keys its reads need prefilled
        self.prepare = prepare
        self.cleanup = cleanup

    def command_for(self, target):
        if self.builtin:
            return ["-t", self.builtin]
        return list(self.direct_cmd if target.cluster_mode else self.gate_cmd)


def bench_args(target, test, clients, requests):
    where = ["-s", target.unix_socket] if target.unix_socket else ["-h", HOST, "-p", str(target.port)]
    args = ["redis-benchmark", *where, "-c", str(clients),
            "-n", str(requests), "-P", str(test.pipeline), "-r", str(test.keyspace)]
    if target.cluster_mode:
        args.append("--cluster")
    args += getattr(target, "tls_args", [])  # --tls ... (bench/tls_row.py)
    if test.data_size:
        args += ["-d", str(test.data_size)]
    return args + test.command_for(target)


_PROGRESS = re.compile(r"^(?P<title>.+?): rps=(?P<inst>\S+) \(overall: (?P<overall>\S+)\) avg_msec=")
_COMPLETED = re.compile(r"^\s*(?P<n>\d+) requests completed in (?P<secs>[\d.]+) seconds")
_THROUGHPUT = re.compile(r"throughput summary: (?P<rps>[\d.]+) requests per second")
_LAT_HEADER = ["avg", "min", "p50", "p95", "p99", "max"]


def parse_benchmark_output(out):
    """redis-benchmark 7.0's normal (not --csv, not -q) output -> dict.

    rps: with --cluster, redis-benchmark runs one thread per master and only notices the end of a
    run at its next 250 ms progress tick, so its own "requests per second" counts up to 250 ms of
    idle time (up to 25% low for a 1 s run). The progress line of the last tick before the end
    carries the overall rate measured from the same start without that idle tail: use it when
    the run was multi-threaded. Single-threaded runs (slotgate) stop exactly at the last reply,
    so their summary is exact."""
    lines = out.replace("\r", "\n").splitlines()
    res = dict(rps_reported=None, reported_s=None, last_tick_rps=None, avg_ms=None, min_ms=None,
               p50_ms=None, p95_ms=None, p99_ms=None, max_ms=None, threaded=False)
    for i, line in enumerate(lines):
        m = _PROGRESS.match(line)
        if m:
            try:
                v = float(m.group("overall"))
                if math.isfinite(v) and v > 0:
                    res["last_tick_rps"] = v
            except ValueError:
                pass
            continue
        m = _COMPLETED.match(line)
        if m:
            res["reported_s"] = float(m.group("secs"))
            continue
        if line.strip().startswith("multi-thread: yes"):
            res["threaded"] = True
            continue
        m = _THROUGHPUT.search(line)
        if m:
            res["rps_reported"] = float(m.group("rps"))
            continue
        if line.split() == _LAT_HEADER and i + 1 < len(lines):
            vals = lines[i + 1].split()
            if len(vals) == 6:
                for k, v in zip(_LAT_HEADER, vals):
                    res[f"{k}_ms"] = float(v)
    return res


def run_benchmark(target, test, clients, requests, cluster_pids, timeout, count_syscalls=False):
    """One redis-benchmark process; returns a measurement dict (rps etc., or error). For a slotgate
    target it holds slotgate's costs per request too (proc_counters.FIELDS)."""
    args = bench_args(target, test, clients, requests)
    cpu0 = cpu_seconds(target.pid) if target.pid else None
    counters0 = proc_counters.snapshot(target.pid) if target.pid else None
    syscalls = proc_counters.SyscallCounter(target.pid).start() if target.pid and count_syscalls else None
    rcpu0 = [cpu_seconds(p) for p in cluster_pids]
    t0 = time.monotonic()
    error = None
    try:
        res = subprocess.run(args, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL,
                             preexec_fn=_die_with_parent)
        out = res.stdout.decode(errors="replace")
        err = res.stderr.decode(errors="replace")
        rc = res.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace")
        err = (e.stderr or b"").decode(errors="replace")
        rc = None
        error = f"redis-benchmark timed out after {timeout}s"
    wall = time.monotonic() - t0
    cpu1 = cpu_seconds(target.pid) if target.pid else None
    counters1 = proc_counters.snapshot(target.pid) if target.pid else None
    syscall_count = syscalls.stop() if syscalls else None
    rcpu1 = [cpu_seconds(p) for p in cluster_pids]

    parsed = parse_benchmark_output(out)
    m = dict(requests=requests, rps=None, rps_source=None, rps_reported=parsed["rps_reported"],
             avg_ms=parsed["avg_ms"], p50_ms=parsed["p50_ms"], p95_ms=parsed["p95_ms"],
             p99_ms=parsed["p99_ms"], max_ms=parsed["max_ms"], cpu_s=None, cpu_s_per_million=None,
             redis_cpu_s=None, wall_s=round(wall, 3), error=None)
    if parsed["threaded"] and parsed["last_tick_rps"]:
        m["rps"], m["rps_source"] = parsed["last_tick_rps"], "last_tick"
    elif parsed["rps_reported"]:
        m["rps"], m["rps_source"] = parsed["rps_reported"], "summary"
    errors = [l.strip() for l in (out + "\n" + err).replace("\r", "\n").splitlines()
              if "rror" in l or "WARN" in l or "aborting" in l]
    if error is None:
        if rc != 0:
            error = f"redis-benchmark exited with {rc}"
        elif m["rps"] is None or m["p50_ms"] is None:
            error = "no result in redis-benchmark output"
        elif any("rror" in l for l in errors):
            error = "redis-benchmark reported an error"
    if error:
        m["error"] = error + (": " + " | ".join(errors)[-600:] if errors else "")
    elif errors:
        m["notes"] = " | ".join(errors)[-300:]
    if cpu0 is not None and cpu1 is not None:
        m["cpu_s"] = round(cpu1 - cpu0, 3)
        m["cpu_s_per_million"] = round(m["cpu_s"] / requests * 1e6, 3)
    if all(x is not None for x in rcpu0 + rcpu1):
        m["redis_cpu_s"] = round(sum(rcpu1) - sum(rcpu0), 3)
    m.update(proc_counters.per_request(counters0, counters1, requests, syscall_count))
    return m


# ----------------------------------------------------------------------------------------------
# Data preparation (so that GET/MGET/LPOP hit real data on both targets alike)
# ----------------------------------------------------------------------------------------------

class Ctx:
    def __init__(self, args, cluster, gate, json_out):
        self.args = args
        self.cluster = cluster
        self.gate = gate
        self.json = json_out
        self.tags = {}  # master Node -> "{XYZ}" redis-benchmark --cluster substitutes for {tag}
        self.owners = None
        self.cluster_pids = [n.proc.pid for n in cluster.nodes]
        self.direct = Target("direct", cluster.masters()[0].port, True)
        self.slotgate = Target("slotgate", gate.port, False, gate.proc.pid, threads=gate.threads)
        self.gates = [self.slotgate]  # the slotgates every test measures (--threads), this one first
        self.summaries = []
        self.problems = []
        self.prefilled = None  # (size, keyspace) the string keys hold now

    def emit(self, obj):
        self.json.write(json.dumps(obj, sort_keys=False) + "\n")
        self.json.flush()

    def owner(self, key):
        if self.owners is None:
            self.owners = self.cluster.slot_owners()
        return self.owners[key_slot(key)]


def discover_tags(ctx):
    """redis-benchmark --cluster replaces "{tag}" with a hashtag of one slot of the client's node
    (7.0.15: the node's first slot, the same for every run). Learn those strings by running it
    once and looking at the keys it wrote, so the harness can prefill the same keys."""
    m0 = ctx.cluster.masters()[0]
    args = ["redis-benchmark", "--cluster", "-h", HOST, "-p", str(m0.port), "-c", "6", "-n", "60",
            *getattr(ctx.direct, "tls_args", []), "--csv", "SET", "benchtagprobe:{tag}", "x"]
    res = subprocess.run(args, capture_output=True, timeout=60, stdin=subprocess.DEVNULL,
                         preexec_fn=_die_with_parent)
    if res.returncode != 0:
        raise RuntimeError("tag probe failed: " + res.stdout.decode(errors="replace")
                           + res.stderr.decode(errors="replace"))
    for m in ctx.cluster.masters():
        c = ctx.cluster.client(m)
        keys = c.keys("benchtagprobe:*")
        if len(keys) != 1:
            raise RuntimeError(f"tag probe: expected one key on {m.addr}, found {keys!r}")
        ctx.tags[m] = keys[0].decode()[len("benchtagprobe:"):]
        c.delete(keys[0])
    progress("redis-benchmark --cluster tags: " + ", ".join(f"{m.addr}={t}" for m, t in ctx.tags.items()))


def _flush_pipe(pipe, force=False):
    if force or len(pipe) >= 64:
        pipe.execute()


def prefill_strings(size, keyspace):
    """key:<12 digits> (slotgate's namespace) and key:{TAG}:<12 digits> of every master (direct's
    namespace) for every number below keyspace, set to `size` bytes, written on the nodes."""
    def run(ctx):
        t = time.monotonic()
        value = b"x" * size
        batch = max(1, min(1000, (4 << 20) // max(size, 1)))
        for m, tag in ctx.tags.items():
            pipe = ctx.cluster.client(m).pipeline(transaction=False)
            for start in range(0, keyspace, batch):
                pipe.mset({f"key:{tag}:{i:012d}": value for i in range(start, min(keyspace, start + batch))})
                _flush_pipe(pipe)
            _flush_pipe(pipe, True)
        per_node = {}
        for i in range(keyspace):
            k = f"key:{i:012d}"
            per_node.setdefault(ctx.owner(k), []).append(k)
        for node, keys in per_node.items():
            pipe = ctx.cluster.client(node).pipeline(transaction=False)
            for k in keys:
                pipe.set(k, value)
                if len(pipe) >= batch:
                    pipe.execute()
            _flush_pipe(pipe, True)
        progress(f"prefilled {keyspace} keys x {len(ctx.tags) + 1} namespaces with {size}-byte values "
                 f"({time.monotonic() - t:.1f}s)")
    return run


def topup_lists(ctx, test, clients, n):
    """Before LPOP: make every list the test pops from long enough for all its rounds, on both
    targets (direct pops spread over 3 x keyspace lists, slotgate's over keyspace lists)."""
    t = time.monotonic()
    r = test.keyspace
    pops = n * ctx.args.rounds
    per_direct = int(math.ceil(1.5 * pops / (len(ctx.tags) * r))) + 16
    per_gate = int(math.ceil(1.5 * pops / r)) + 16
    plan = {}
    for m, tag in ctx.tags.items():
        plan.setdefault(m, []).extend((f"list:{tag}:{i:012d}", per_direct) for i in range(r))
    for i in range(r):
        k = f"list:{i:012d}"
        plan.setdefault(ctx.owner(k), []).append((k, per_gate))
    for node, items in plan.items():
        pipe = ctx.cluster.client(node).pipeline(transaction=False)
        for key, count in items:
            left = count
            while left > 0:
                chunk = min(left, 1000)
                pipe.rpush(key, *([VALUE] * chunk))
                left -= chunk
                _flush_pipe(pipe)
        _flush_pipe(pipe, True)
    progress(f"lists topped up: {per_direct} elements x {len(ctx.tags) * r} direct lists, "
             f"{per_gate} x {r} slotgate lists ({time.monotonic() - t:.1f}s)")


def flush_all(ctx, *unused):
    for m in ctx.cluster.masters():
        ctx.cluster.client(m).execute_command("FLUSHALL", "SYNC")
    ctx.prefilled = None
    progress("FLUSHALL on every master")


# ----------------------------------------------------------------------------------------------
# The tests
# ----------------------------------------------------------------------------------------------

def ten(fmt):
    return [fmt] * 10


def build_tests():
    small, kb, big = (3, DEFAULT_KEYSPACE), (1024, 10000), (102400, 1000)
    return [
        Test("set", "SET", builtin="set", data=small),
        Test("get", "GET", builtin="get", data=small),
        Test("set_p16", "SET -P16", pipeline=16, builtin="set", data=small),
        Test("get_p16", "GET -P16", pipeline=16, builtin="get", data=small),
        Test("mset10", "MSET 10 keys", builtin="mset", data=small),
        Test("mget10", "MGET 10 keys", data=small,
             direct_cmd=["MGET"] + ten("key:{tag}:__rand_int__"),
             gate_cmd=["MGET"] + ten("key:__rand_int__")),
        Test("incr", "INCR", builtin="incr"),
        Test("lpush", "LPUSH", keyspace=1000,
             direct_cmd=["LPUSH", "list:{tag}:__rand_int__", VALUE],
             gate_cmd=["LPUSH", "list:__rand_int__", VALUE]),
        Test("lpop", "LPOP", keyspace=1000, prepare=topup_lists,
             direct_cmd=["LPOP", "list:{tag}:__rand_int__"],
             gate_cmd=["LPOP", "list:__rand_int__"]),
        Test("hset", "HSET",
             direct_cmd=["HSET", "hash:{tag}:__rand_int__", "field:__rand_int__", VALUE],
             gate_cmd=["HSET", "hash:__rand_int__", "field:__rand_int__", VALUE]),
        Test("set_1k", "SET 1KB", builtin="set", data_size=1024, keyspace=10000, data=kb),
        Test("get_1k", "GET 1KB", builtin="get", keyspace=10000, data=kb),
        Test("set_100k", "SET 100KB", builtin="set", data_size=102400, keyspace=1000, data=big),
        Test("get_100k", "GET 100KB", builtin="get", keyspace=1000, data=big, cleanup=flush_all),
    ]


def ensure_data(ctx, data):
    """Prefills the string keys of (size, keyspace) unless that is what the keys hold already."""
    if data and ctx.prefilled != data:
        prefill_strings(*data)(ctx)
        ctx.prefilled = data


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def geomean(xs):
    xs = [x for x in xs if x]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def calibrate(ctx, test, clients, targets, extra):
    """A short warm-up run per target; returns -n so that one run takes ~target seconds."""
    floor = clients * test.pipeline * 4  # every client sends at least 4 batches
    n0 = max(floor, 5000 if (test.data_size or 0) < 65536 else 1000)
    rates = []
    # Single-threaded (exact) targets first; their rate sizes the --cluster warm-up, which must
    # outlast redis-benchmark's first 250 ms tick to give an unpadded rate.
    for target in sorted(targets, key=lambda t: t.cluster_mode):
        if target.cluster_mode and rates and rates[0]:
            n0 = max(n0, int(rates[0] * 0.6))
        for attempt in range(3):
            m = run_benchmark(target, test, clients, n0, ctx.cluster_pids, timeout=60)
            ctx.emit(dict(type="warmup", test=test.name, id=f"{test.name}_c{clients}", clients=clients,
                          pipeline=test.pipeline, target=target.name, **extra, **m))
            if m["error"]:
                progress(f"  warm-up {target.name}: {m['error']}")
            if m["rps_source"] != "summary" or not target.cluster_mode:
                break
            n0 *= 3
        rates.append(m["rps"])
    rate = geomean(rates) or 10000.0
    n = int(rate * ctx.args.seconds)
    return max(floor, min(n, 5_000_000))


def alternate(ctx, test, clients, targets, n, extra=None):
    """Rounds of A B A B. Returns {target name: [measurement, ...]}."""
    extra = extra or {}
    runs = {t.name: [] for t in targets}
    for rnd in range(1, ctx.args.rounds + 1):
        for target in targets:
            if ctx.gate.proc.poll() is not None:
                raise RuntimeError("slotgate died during the benchmark")
            timeout = max(60, int(30 * ctx.args.seconds))
            m = run_benchmark(target, test, clients, n, ctx.cluster_pids, timeout,
                              count_syscalls=getattr(ctx.args, "syscalls", False))
            runs[target.name].append(m)
            ctx.emit(dict(type="run", test=test.name, id=f"{test.name}_c{clients}", clients=clients,
                          pipeline=test.pipeline, target=target.name, round=rnd, **extra, **m))
            if m["error"]:
                ctx.problems.append(f"{test.name} c={clients} {target.name} round {rnd}: {m['error']}")
                progress(f"  {target.name} round {rnd}: ERROR {m['error']}")
    return runs


def cost_medians(runs):
    """Medians of slotgate's per-request costs (proc_counters.FIELDS) over the runs without error."""
    ok = [r for r in runs if not r["error"]]
    res = {}
    for key in proc_counters.FIELDS:
        v = median(r.get(key) for r in ok)
        if v is not None:
            res[key] = round(v, 3)
    return res


def fmt_costs(c):
    """user/sys µs, reads/writes and voluntary/involuntary context switches per request."""
    def pair(a, b, digits):
        return f"{fmt(c.get(a), digits)}/{fmt(c.get(b), digits)}"
    out = f"{pair('user_us', 'sys_us', 1):>11} {pair('syscr', 'syscw', 2):>10} {pair('vcsw', 'nvcsw', 2):>10}"
    if "syscalls" in c:
        out += f" {fmt(c['syscalls']):>6}"
    return out


COSTS_HEADER = f"{'usr/sys µs':>11} {'rd/wr':>10} {'csw v/nv':>10}"
COSTS_NOTE = ("usr/sys µs: slotgate's user and system CPU per request; rd/wr: its read(v) and write(v) "
              "calls per request (/proc/PID/io syscr/syscw); csw v/nv: voluntary and involuntary "
              "context switches per request (all threads)")


def run_test(ctx, test, clients):
    progress(f"{test.label} -c {clients} -P {test.pipeline}")
    targets = [ctx.direct] + ctx.gates
    n = calibrate(ctx, test, clients, targets, {})
    if test.prepare:
        test.prepare(ctx, test, clients, n)
    runs = alternate(ctx, test, clients, targets, n)
    d = runs["direct"]
    med = lambda rs, k: median(r[k] for r in rs if not r["error"])  # noqa: E731
    for gate in ctx.gates:
        s = runs[gate.name]
        suffix = "" if gate is ctx.slotgate else f"_t{gate.threads}"
        summ = dict(type="summary", test=test.name, id=f"{test.name}_c{clients}{suffix}", label=test.label,
                    clients=clients, pipeline=test.pipeline, threads=gate.threads, requests=n,
                    rounds=ctx.args.rounds, direct_rps=med(d, "rps"), slotgate_rps=med(s, "rps"),
                    direct_p50_ms=med(d, "p50_ms"), slotgate_p50_ms=med(s, "p50_ms"),
                    direct_p99_ms=med(d, "p99_ms"), slotgate_p99_ms=med(s, "p99_ms"),
                    cpu_s_per_million=med(s, "cpu_s_per_million"),
                    direct_redis_cpu_s_per_million=median(r["redis_cpu_s"] / n * 1e6 for r in d
                                                          if not r["error"] and r["redis_cpu_s"] is not None),
                    slotgate_redis_cpu_s_per_million=median(r["redis_cpu_s"] / n * 1e6 for r in s
                                                            if not r["error"] and r["redis_cpu_s"] is not None),
                    errors=sum(1 for r in d + s if r["error"]))
        summ["ratio"] = (summ["slotgate_rps"] / summ["direct_rps"]
                         if summ["slotgate_rps"] and summ["direct_rps"] else None)
        for p in ("p50", "p99"):
            a, b = summ[f"direct_{p}_ms"], summ[f"slotgate_{p}_ms"]
            summ[f"{p}_overhead_ms"] = round(b - a, 3) if a is not None and b is not None else None
        for k, v in list(summ.items()):
            if isinstance(v, float):
                summ[k] = round(v, 4 if k == "ratio" else 3)
        summ.update(cost_medians(s))
        ctx.emit(summ)
        ctx.summaries.append(summ)
        progress(f"  direct {fmt_rps(summ['direct_rps'])} rps, slotgate --threads {gate.threads} "
                 f"{fmt_rps(summ['slotgate_rps'])} rps, ratio {fmt(summ['ratio'], 2)}, "
                 f"slotgate CPU {fmt(summ['cpu_s_per_million'], 2)} s/M")


# ----------------------------------------------------------------------------------------------
# Checks before measuring
# ----------------------------------------------------------------------------------------------

def sanity(ctx):
    """Every slotgate-side command shape answers without error, and MSET/MGET really span slots."""
    r = ctx.gate.client()
    keys = [f"key:{random.randrange(DEFAULT_KEYSPACE):012d}" for _ in range(10)]
    assert r.mset({k: f"v{i}" for i, k in enumerate(keys)}) is True, "MSET through slotgate"
    got = r.mget(keys)
    want = [f"v{keys.index(k)}".encode() for k in keys]  # a key may repeat: the last write wins
    assert got == want, f"MGET through slotgate returned {got!r}, want {want!r}"
    r.lpush("list:000000000000", VALUE)
    r.lpop("list:000000000000")
    r.hset("hash:000000000000", "field:000000000000", VALUE)
    r.incr("counter:000000000000")
    r.close()
    # The cross-slot shape: 10 keys drawn like redis-benchmark draws them.
    masters_seen, slots_seen = [], []
    for _ in range(2000):
        ks = [f"key:{random.randrange(DEFAULT_KEYSPACE):012d}" for _ in range(10)]
        slots_seen.append(len({key_slot(k) for k in ks}))
        masters_seen.append(len({ctx.owner(k).port for k in ks}))
    info = dict(type="check", what="mset10/mget10 key spread through slotgate",
                commands_sampled=2000, avg_distinct_slots=round(statistics.mean(slots_seen), 3),
                min_distinct_slots=min(slots_seen), avg_distinct_masters=round(statistics.mean(masters_seen), 3),
                direct_distinct_slots=1)
    ctx.emit(info)
    progress(f"MSET/MGET through slotgate: {info['avg_distinct_slots']} distinct slots and "
             f"{info['avg_distinct_masters']} masters per 10-key command on average (direct: 1 slot)")


# ----------------------------------------------------------------------------------------------
# Scaling and RSS
# ----------------------------------------------------------------------------------------------

def scaling(ctx, binary):
    test = Test("scaling_get_p16", "GET -P16 threads", pipeline=16, builtin="get")
    clients = 50
    progress("scaling: slotgate --threads 1 vs --threads 2, GET -P 16 -c 50")
    ensure_data(ctx, (3, DEFAULT_KEYSPACE))
    with Slotgate(binary, ctx.cluster.seeds(), threads=1, log_level="warn",
                  extra_args=ctx.args.slotgate_args.split()) as gate1:
        t1 = Target("slotgate_t1", gate1.port, False, gate1.proc.pid)
        t2 = Target("slotgate_t2", ctx.gate.port, False, ctx.gate.proc.pid)
        n = calibrate(ctx, test, clients, [t1, t2], {})
        runs = alternate(ctx, test, clients, [t1, t2], n)
        if gate1.proc.poll() is not None:
            ctx.problems.append("slotgate --threads 1 died during the scaling check")
    res = dict(type="scaling", test=test.name, clients=clients, pipeline=16, requests=n,
               rounds=ctx.args.rounds)
    for name, rs in runs.items():
        ok = [r for r in rs if not r["error"]]
        res[f"{name[-2:]}_rps"] = median(r["rps"] for r in ok)
        # Cores busy during the run: CPU seconds over the time redis-benchmark measured.
        res[f"{name[-2:]}_cores"] = median(r["cpu_s"] / (n / r["rps"]) for r in ok if r["rps"] and r["cpu_s"] is not None)
        res[f"{name[-2:]}_cpu_s_per_million"] = median(r["cpu_s_per_million"] for r in ok)
        res[f"{name[-2:]}_costs"] = cost_medians(rs)
    res["ratio"] = res["t2_rps"] / res["t1_rps"] if res["t1_rps"] and res["t2_rps"] else None
    for k, v in list(res.items()):
        if isinstance(v, float):
            res[k] = round(v, 3)
    ctx.emit(res)
    return res


def unix_vs_tcp(ctx, binary):
    """Optional (--unix, or --only unix): one slotgate serving both a loopback port and a unix
    socket; GET unpipelined and -P 16 alternately on each, CPU per request from slotgate's own
    utime+stime."""
    import tempfile
    results = []
    sock_dir = tempfile.mkdtemp(prefix="slotgate-bench-")
    sock = os.path.join(sock_dir, "slotgate.sock")
    progress("unix socket vs loopback TCP to slotgate, GET -c 50, -P 1 and -P 16")
    ensure_data(ctx, (3, DEFAULT_KEYSPACE))
    try:
        with Slotgate(binary, ctx.cluster.seeds(), threads=2, log_level="warn",
                      extra_args=["--unix-socket", sock]) as gate:
            tcp = Target("tcp", gate.port, False, gate.proc.pid)
            unix = Target("unix", gate.port, False, gate.proc.pid, unix_socket=sock)
            for test in (Test("unix_get", "GET", builtin="get"),
                         Test("unix_get_p16", "GET -P 16", pipeline=16, builtin="get")):
                n = calibrate(ctx, test, 50, [tcp, unix], {})
                runs = alternate(ctx, test, 50, [tcp, unix], n)
                res = dict(type="unix_socket", test=test.name, label=test.label, clients=50,
                           pipeline=test.pipeline, requests=n, rounds=ctx.args.rounds)
                for name, rs in runs.items():
                    ok = [r for r in rs if not r["error"]]
                    res[f"{name}_rps"] = median(r["rps"] for r in ok)
                    # CPU seconds per million requests = CPU microseconds per request.
                    res[f"{name}_cpu_us_per_request"] = median(r["cpu_s_per_million"] for r in ok)
                    res[f"{name}_p50_ms"] = median(r["p50_ms"] for r in ok)
                for k, v in list(res.items()):
                    if isinstance(v, float):
                        res[k] = round(v, 3)
                ctx.emit(res)
                results.append(res)
            if gate.proc.poll() is not None:
                ctx.problems.append("the unix-socket slotgate died during the benchmark")
    finally:
        shutil.rmtree(sock_dir, ignore_errors=True)
    return results


def open_idle_clients(port, count, batch=100):
    """count connections to port, each sends PING and reads +PONG. Returns (sockets, errors)."""
    socks, errors = [], []
    ping = b"*1\r\n$4\r\nPING\r\n"
    while len(socks) < count and len(errors) < 20:
        group = []
        for _ in range(min(batch, count - len(socks) - len(group))):
            try:
                s = socket.create_connection((HOST, port), timeout=10)
                group.append(s)
            except OSError as e:
                errors.append(f"connect: {e}")
                break
        for s in group:
            try:
                s.sendall(ping)
            except OSError as e:
                errors.append(f"send: {e}")
        for s in group:
            try:
                data = b""
                while not data.endswith(b"\r\n"):
                    chunk = s.recv(64)
                    if not chunk:
                        raise ConnectionError("closed by slotgate")
                    data += chunk
                if data != b"+PONG\r\n":
                    errors.append(f"reply {data!r}")
            except OSError as e:
                errors.append(f"recv: {e}")
        socks.extend(group)
        if not group:
            break
    return socks, errors


def wait_parked(probe, count, timeout=15.0):
    """Waits until `count` clients are parked (timeouts.client_park_ms, 1 s by default), then 1.5 s
    more so the worker's trim of the freed sessions has run; returns the parked count seen. The
    probe is opened before the idle clients: with them, slotgate is at limits.max_clients."""
    parked, deadline = 0, time.monotonic() + timeout
    while time.monotonic() < deadline:
        parked = int(probe.info("proxy").get("parked_clients", 0))
        if parked >= count:
            break
        time.sleep(0.2)
    time.sleep(1.5)
    return parked


def rss_check(ctx, rss_fresh, idle_clients):
    pid = ctx.gate.proc.pid
    out = []

    def record(phase, clients=0, **more):
        rec = dict(type="rss", phase=phase, clients=clients, rss_kb=rss_kb(pid), fds=fd_count(pid), **more)
        ctx.emit(rec)
        out.append(rec)
        return rec

    out.append(rss_fresh)
    ctx.emit(rss_fresh)
    time.sleep(2)
    probe = ctx.gate.client(socket_timeout=5)
    probe.ping()
    idle_clients -= 1  # the probe is one of them
    before = record("idle_after_benchmarks")
    progress(f"RSS: opening {idle_clients} idle clients (PING/PONG each)")
    t = time.monotonic()
    socks, errors = open_idle_clients(ctx.gate.port, idle_clients)
    record("idle_clients_connected", clients=len(socks), connect_s=round(time.monotonic() - t, 2),
           errors=errors[:5])
    if errors:
        ctx.problems.append(f"idle clients: {len(errors)} errors, first: {errors[0]}")
    if len(socks) < idle_clients:
        ctx.problems.append(f"only {len(socks)} of {idle_clients} idle clients got a PONG")
    parked = wait_parked(probe, len(socks))
    record("idle_clients_parked", clients=len(socks), parked=parked)
    if parked < len(socks):
        ctx.problems.append(f"only {parked} of {len(socks)} idle clients were parked")
    for s in socks:
        s.close()
    time.sleep(1)
    record("after_disconnect_1s")
    time.sleep(1)
    after = record("after_disconnect_2s")
    # A second round tells memory kept for reuse (RSS stays flat) from memory leaked (RSS grows).
    socks, errors = open_idle_clients(ctx.gate.port, idle_clients)
    record("second_round_connected", clients=len(socks), errors=errors[:5])
    parked = wait_parked(probe, len(socks))
    record("second_round_parked", clients=len(socks), parked=parked)
    for s in socks:
        s.close()
    time.sleep(2)
    after2 = record("second_round_after_2s")
    if after2["rss_kb"] and after["rss_kb"] and after2["rss_kb"] > after["rss_kb"] * 1.2 + 4096:
        ctx.problems.append(f"slotgate RSS grew by {(after2['rss_kb'] - after['rss_kb']) / 1024:.1f} MB over a "
                            f"second round of {idle_clients} idle clients instead of reusing the first "
                            f"round's memory (a leak, or freed memory the allocator keeps: see bench/README.md)")
    # Still serving, and the client sockets are gone from slotgate's fd table?
    alive = probe.ping()
    probe.close()
    if not alive:
        ctx.problems.append("slotgate did not answer PING after the idle clients left")
    if after["fds"] is not None and before["fds"] is not None and after["fds"] > before["fds"] + 10:
        ctx.problems.append(f"slotgate holds {after['fds'] - before['fds']} more fds after the idle "
                            f"clients disconnected ({before['fds']} -> {after['fds']})")
    return out


# ----------------------------------------------------------------------------------------------
# Output
# ----------------------------------------------------------------------------------------------

def fmt(x, digits=2):
    return "-" if x is None else f"{x:.{digits}f}"


def fmt_rps(x):
    return "-" if x is None else f"{x:,.0f}"


def fmt_ovh(x):
    return "-" if x is None else f"{x:+.3f}"


def print_table(ctx, scaling_res, rss, started, unix_res=None):
    w = sys.stdout.write
    w("\nslotgate vs direct (--cluster): medians of %d rounds, A B A B; ratio = slotgate/direct rps\n"
      % ctx.args.rounds)
    syscalls = getattr(ctx.args, "syscalls", False)
    hdr = (f"{'test':<13} {'-c':>4} {'-P':>3} {'-t':>2} {'requests':>9} {'direct rps':>11} {'slotgate rps':>12} "
           f"{'ratio':>6} {'p50 d/s ms':>13} {'p50 +ms':>8} {'p99 d/s ms':>13} {'p99 +ms':>8} "
           f"{'CPU s/M':>8} {COSTS_HEADER}{' sys/rq' if syscalls else ''} {'err':>3}")
    w(hdr + "\n" + "-" * len(hdr) + "\n")
    for s in ctx.summaries:
        w(f"{s['label']:<13} {s['clients']:>4} {s['pipeline']:>3} {s['threads']:>2} {s['requests']:>9} "
          f"{fmt_rps(s['direct_rps']):>11} {fmt_rps(s['slotgate_rps']):>12} {fmt(s['ratio']):>6} "
          f"{fmt(s['direct_p50_ms'], 3) + '/' + fmt(s['slotgate_p50_ms'], 3):>13} {fmt_ovh(s['p50_overhead_ms']):>8} "
          f"{fmt(s['direct_p99_ms'], 3) + '/' + fmt(s['slotgate_p99_ms'], 3):>13} {fmt_ovh(s['p99_overhead_ms']):>8} "
          f"{fmt(s['cpu_s_per_million']):>8} {fmt_costs(s)} {s['errors']:>3}\n")
    w("-t: slotgate --threads; CPU s/M: slotgate CPU seconds (utime+stime, all threads) per million requests; "
      "MSET/MGET: one request = one 10-key command\n" + COSTS_NOTE
      + ("; sys/rq: every system call per request (perf, raw_syscalls:sys_enter)" if syscalls else "") + "\n")
    if scaling_res:
        s = scaling_res
        w(f"\nscaling, GET -P16 -c 50 through slotgate: --threads 1 {fmt_rps(s['t1_rps'])} rps "
          f"({fmt(s['t1_cores'])} cores busy, {fmt(s['t1_cpu_s_per_million'])} CPU s/M), "
          f"--threads 2 {fmt_rps(s['t2_rps'])} rps ({fmt(s['t2_cores'])} cores busy, "
          f"{fmt(s['t2_cpu_s_per_million'])} CPU s/M): ratio t2/t1 {fmt(s['ratio'])}\n")
        for t in ("t1", "t2"):
            w(f"  --threads {t[1]}: {COSTS_HEADER.split()[0]} rd/wr csw v/nv per request: {fmt_costs(s[t + '_costs'])}\n")
        if s["t1_cores"] is not None and s["t1_cores"] < 0.9:
            w(f"  note: with --threads 1 slotgate kept only {s['t1_cores']:.2f} of a core busy, so it was not "
              f"the bottleneck on this machine ({os.cpu_count()} cores shared with redis-benchmark and the "
              f"nodes); the ratio says little about slotgate's scaling here\n")
    if unix_res:
        w("\nunix socket vs loopback TCP, through one slotgate (--threads 2), -c 50:\n")
        for r in unix_res:
            w(f"  {r['label']:<10} TCP {fmt_rps(r['tcp_rps']):>9} rps, {fmt(r['tcp_cpu_us_per_request'])} CPU us/request;"
              f"  unix {fmt_rps(r['unix_rps']):>9} rps, {fmt(r['unix_cpu_us_per_request'])} CPU us/request\n")
    if rss:
        w("\nslotgate RSS\n")
        for r in rss:
            mb = "-" if r["rss_kb"] is None else f"{r['rss_kb'] / 1024:.1f} MB"
            w(f"  {r['phase']:<24} {mb:>10}  clients {r['clients']:>6}  fds {r['fds']}\n")
        by = {r["phase"]: r for r in rss}
        for label, base, phases in (("first round", "idle_after_benchmarks",
                                     ("idle_clients_connected", "idle_clients_parked")),
                                    ("second round", "after_disconnect_2s",
                                     ("second_round_connected", "second_round_parked"))):
            per = []
            for phase in phases:
                a, b = by.get(base), by.get(phase)
                if a and b and a["rss_kb"] and b["rss_kb"] and b["clients"]:
                    per.append(f"{phase.split('_')[-1]} {(b['rss_kb'] - a['rss_kb']) / b['clients']:.2f} KB")
            if per:
                w(f"  per idle client, {label}: {', '.join(per)}\n")
    if ctx.problems:
        w("\nproblems seen:\n")
        for p in ctx.problems:
            w(f"  - {p}\n")
    w(f"\ntotal {time.monotonic() - started:.0f}s; JSON lines in {ctx.args.json}\n")
    sys.stdout.flush()


# ----------------------------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------------------------

def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="about a minute: shorter runs, -c 50 only")
    p.add_argument("--rounds", type=int, default=3, help="A B rounds per test (default 3)")
    p.add_argument("--json", default=os.path.join(REPO, "bench", "results", "last.jsonl"),
                   help="JSON-lines output (default bench/results/last.jsonl)")
    p.add_argument("--slotgate", default=os.path.join(REPO, "build", "slotgate"),
                   help="slotgate binary (default build/slotgate)")
    p.add_argument("--seconds", type=float, default=None,
                   help="target duration of one run (default 1.0, --quick 0.35)")
    p.add_argument("--idle-clients", type=int, default=10000, help="idle clients for the RSS check")
    p.add_argument("--only", default="", help="comma-separated test names to run (default: all)")
    p.add_argument("--unix", action="store_true",
                   help="also compare a unix socket with loopback TCP (as does --only unix)")
    p.add_argument("--threads", default="2",
                   help="comma-separated slotgate --threads to measure every test with, each its own "
                        "slotgate in the A B C rounds (default 2; e.g. 1,2)")
    p.add_argument("--syscalls", action="store_true",
                   help="also count every system call of slotgate per request (perf stat, root)")
    p.add_argument("--slotgate-args", default="",
                   help="extra slotgate arguments, space-separated (e.g. '--config /tmp/uring.yaml')")
    p.add_argument("--tls", action="store_true",
                   help="also measure TLS to the nodes (bench/tls_row.py; --only tls runs it alone)")
    a = p.parse_args()
    try:
        a.thread_counts = sorted({int(t) for t in a.threads.split(",") if t}, reverse=True)
    except ValueError:
        p.error("--threads takes comma-separated numbers")
    if not a.thread_counts or min(a.thread_counts) < 1:
        p.error("--threads takes comma-separated numbers of at least 1")
    if a.rounds < 1:
        p.error("--rounds must be at least 1")
    if a.seconds is None:
        a.seconds = 0.35 if a.quick else 1.0
    return a


def main():
    args = parse_args()
    started = time.monotonic()
    binary = os.path.abspath(args.slotgate)
    if not os.access(binary, os.X_OK):
        sys.exit(f"slotgate binary {binary} not found or not executable (build it, or pass --slotgate)")
    for tool in ("redis-server", "redis-benchmark", "redis-cli"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found (apt-get install redis-server redis-tools)")
    nofile = raise_nofile(args.idle_clients + 1024)
    idle_clients = min(args.idle_clients, nofile - 512)
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)

    tests = build_tests()
    only = {t for t in args.only.split(",") if t}
    if only:
        tests = [t for t in tests if t.name in only]

    with open(args.json, "w") as jf:
        ver = subprocess.run(["redis-benchmark", "--version"], capture_output=True).stdout.decode().strip()
        meta = dict(type="meta", time=time.strftime("%Y-%m-%dT%H:%M:%S%z"), argv=sys.argv[1:],
                    slotgate=binary, redis_benchmark=ver, nproc=os.cpu_count(),
                    loadavg=open("/proc/loadavg").read().split()[:3], rounds=args.rounds,
                    seconds_per_run=args.seconds, quick=args.quick, nofile=nofile)
        jf.write(json.dumps(meta) + "\n")
        if args.tls or "tls" in only:  # a cluster of its own, before the plain one
            import tls_row  # bench/tls_row.py
            tls_problems = tls_row.main_hook(sys.modules[__name__], args, binary, jf)
            if only == {"tls"}:
                return 1 if tls_problems else 0
        progress(f"starting a 3+3 cluster and slotgate ({binary}); load average {meta['loadavg']}")
        scaling_res, rss, unix_res = None, None, None
        ctx = None
        try:
            with RedisCluster(node_timeout=5000) as cluster, contextlib.ExitStack() as more_gates:
                extra = args.slotgate_args.split()
                with Slotgate(binary, cluster.seeds(), threads=2, log_level="warn", extra_args=extra) as gate:
                    time.sleep(0.5)
                    rss_fresh = dict(type="rss", phase="idle_fresh", clients=0,
                                     rss_kb=rss_kb(gate.proc.pid), fds=fd_count(gate.proc.pid))
                    ctx = Ctx(args, cluster, gate, jf)
                    if 2 not in args.thread_counts:
                        ctx.gates = []
                    for t in args.thread_counts:
                        if t != 2:
                            g = more_gates.enter_context(Slotgate(binary, cluster.seeds(), threads=t,
                                                                  log_level="warn", extra_args=extra))
                            ctx.gates.append(Target(f"slotgate_t{t}", g.port, False, g.proc.pid, threads=t))
                    progress(f"cluster {[n.addr for n in cluster.masters()]}, slotgate on {gate.addr} "
                             f"(pid {gate.proc.pid}, --threads 2)")
                    try:
                        discover_tags(ctx)
                        sanity(ctx)
                        for test in tests:
                            ensure_data(ctx, test.data)
                            for c in ((50,) if args.quick else (50, 500)):
                                run_test(ctx, test, c)
                            if test.cleanup:
                                test.cleanup(ctx)
                        if not only or "scaling" in only:
                            scaling_res = scaling(ctx, binary)
                        if not only or "rss" in only:
                            rss = rss_check(ctx, rss_fresh, idle_clients)
                        if args.unix or "unix" in only:
                            unix_res = unix_vs_tcp(ctx, binary)
                    except Exception as e:  # report what was measured so far
                        traceback.print_exc()
                        ctx.problems.append(f"harness stopped early: {e!r}")
                    if gate.proc.poll() is not None:
                        ctx.problems.append(f"slotgate exited with {gate.proc.returncode}")
        except AssertionError as e:  # Slotgate.__exit__: crash, bad exit, sanitizer report
            if ctx is None:
                raise
            ctx.problems.append(str(e))
        if ctx is not None:
            for p in ctx.problems:
                ctx.emit(dict(type="problem", text=p))
            print_table(ctx, scaling_res, rss, started, unix_res)
            return 1 if ctx.problems else 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
