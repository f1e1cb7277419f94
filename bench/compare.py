#!/usr/bin/python3
"""Two slotgate builds side by side in one run: the same 3+3 cluster, each build with its own
slotgate in front of it, redis-benchmark rounds alternating A B A B, medians per build. Use it for
"before and after" of a change: the ratio after/before of throughput and of CPU per request is
measured under the same load at the same time, so machine noise hits both alike.

    python3 bench/compare.py --before OLD_BINARY [--after build/slotgate] [--rounds 5] [--only get,set]

Loopback only; every process started here is stopped on exit. The tests and the measurement code
are bench/run.py's (see bench/README.md).
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import run  # noqa: E402  (bench/run.py)
from run import (DEFAULT_KEYSPACE, Ctx, Target, alternate, build_tests, calibrate, discover_tags,  # noqa: E402
                 ensure_data, fmt, fmt_rps, median, progress)
from cluster import RedisCluster, Slotgate  # noqa: E402

# The rows that say most about a change of the request path: small values, with and without
# pipelining, a split command, a large value.
DEFAULT_TESTS = "get,set,get_p16,set_p16,mget10,get_100k"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--before", required=True, help="the baseline slotgate binary")
    p.add_argument("--after", default=os.path.join(run.REPO, "build", "slotgate"),
                   help="the slotgate binary to compare (default build/slotgate)")
    p.add_argument("--rounds", type=int, default=5, help="A B rounds per test (default 5)")
    p.add_argument("--seconds", type=float, default=1.0, help="target duration of one run (default 1.0)")
    p.add_argument("--clients", type=int, default=50, help="redis-benchmark -c (default 50)")
    p.add_argument("--threads", type=int, default=2, help="slotgate --threads for both builds (default 2)")
    p.add_argument("--only", default=DEFAULT_TESTS, help=f"comma-separated tests (default {DEFAULT_TESTS})")
    p.add_argument("--json", default=os.path.join(run.REPO, "bench", "results", "compare.jsonl"))
    a = p.parse_args()
    if a.rounds < 1:
        p.error("--rounds must be at least 1")
    for path in (a.before, a.after):
        if not os.access(path, os.X_OK):
            p.error(f"{path} is not an executable")
    a.quick = False
    return a


def main():
    args = parse_args()
    started = time.monotonic()
    wanted = [t for t in args.only.split(",") if t]
    tests = [t for t in build_tests() if t.name in wanted]
    unknown = set(wanted) - {t.name for t in tests}
    if unknown:
        sys.exit(f"unknown tests: {', '.join(sorted(unknown))}")
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    rows = []
    with open(args.json, "w") as jf, RedisCluster(node_timeout=5000) as cluster:
        jf.write(json.dumps(dict(type="meta", time=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                 before=os.path.abspath(args.before), after=os.path.abspath(args.after),
                                 nproc=os.cpu_count(), rounds=args.rounds, clients=args.clients,
                                 threads=args.threads, loadavg=open("/proc/loadavg").read().split()[:3]))
                 + "\n")
        with Slotgate(os.path.abspath(args.before), cluster.seeds(), threads=args.threads, log_level="warn") as a, \
             Slotgate(os.path.abspath(args.after), cluster.seeds(), threads=args.threads, log_level="warn") as b:
            ctx = Ctx(args, cluster, b, jf)
            before = Target("before", a.port, False, a.proc.pid)
            after = Target("after", b.port, False, b.proc.pid)
            discover_tags(ctx)
            for test in tests:
                ensure_data(ctx, test.data)
                progress(f"{test.label} -c {args.clients} -P {test.pipeline}")
                n = calibrate(ctx, test, args.clients, [before, after], {})
                if test.prepare:
                    test.prepare(ctx, test, args.clients, n)
                runs = alternate(ctx, test, args.clients, [before, after], n)
                row = dict(type="compare", test=test.name, label=test.label, pipeline=test.pipeline,
                           clients=args.clients, requests=n)
                for name, rs in runs.items():
                    ok = [r for r in rs if not r["error"]]
                    row[f"{name}_rps"] = median(r["rps"] for r in ok)
                    row[f"{name}_cpu_us"] = median(r["cpu_s_per_million"] for r in ok)  # s/M = µs/request
                    row[f"{name}_p99_ms"] = median(r["p99_ms"] for r in ok)
                    row[f"{name}_errors"] = len(rs) - len(ok)
                row["rps_ratio"] = (row["after_rps"] / row["before_rps"]
                                    if row["after_rps"] and row["before_rps"] else None)
                row["cpu_ratio"] = (row["after_cpu_us"] / row["before_cpu_us"]
                                    if row["after_cpu_us"] and row["before_cpu_us"] else None)
                jf.write(json.dumps(row) + "\n")
                rows.append(row)
                if test.cleanup:
                    test.cleanup(ctx)
            for gate in (a, b):
                if gate.proc.poll() is not None:
                    ctx.problems.append(f"slotgate {gate.binary} exited during the run")
    w = sys.stdout.write
    w(f"\nafter vs before, medians of {args.rounds} rounds (A B A B), -c {args.clients}, "
      f"--threads {args.threads}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}\n")
    hdr = (f"{'test':<12} {'before rps':>11} {'after rps':>11} {'ratio':>6} {'before µs/req':>14} "
           f"{'after µs/req':>13} {'ratio':>6} {'p99 b/a ms':>13} {'err':>4}")
    w(hdr + "\n" + "-" * len(hdr) + "\n")
    for r in rows:
        w(f"{r['label']:<12} {fmt_rps(r['before_rps']):>11} {fmt_rps(r['after_rps']):>11} {fmt(r['rps_ratio']):>6} "
          f"{fmt(r['before_cpu_us']):>14} {fmt(r['after_cpu_us']):>13} {fmt(r['cpu_ratio']):>6} "
          f"{fmt(r['before_p99_ms'], 3) + '/' + fmt(r['after_p99_ms'], 3):>13} "
          f"{r['before_errors'] + r['after_errors']:>4}\n")
    w(f"µs/req: slotgate CPU (user+system, all threads) per request; total {time.monotonic() - started:.0f}s\n")
    errors = sum(r["before_errors"] + r["after_errors"] for r in rows)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
