#!/usr/bin/python3
"""Two slotgate builds side by side in one run: the same 3+3 cluster, each build with its own
slotgate in front of it, redis-benchmark rounds alternating A B A B, medians per build. Use it for
"before and after" of a change: the ratio after/before of throughput and of CPU per request is
measured under the same load at the same time, so machine noise hits both alike.

    python3 bench/compare.py --before OLD_BINARY [--after build/slotgate] [--rounds 5] [--only get,set]
                             [--threads 1,2] [--syscalls] [--before-args ARGS] [--after-args ARGS]

The same binary with different arguments compares two settings, e.g. two transports:
    bench/compare.py --before build/slotgate --before-args '--config /tmp/libuv.yaml' \
                     --after-args '--config /tmp/uring.yaml'

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
from run import (COSTS_HEADER, COSTS_NOTE, Ctx, Target, alternate, build_tests, calibrate,  # noqa: E402
                 cost_medians, discover_tags, ensure_data, fmt, fmt_costs, fmt_rps, median, progress)
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
    p.add_argument("--threads", default="2",
                   help="comma-separated slotgate --threads, each measured with its own pair (default 2; e.g. 1,2)")
    p.add_argument("--syscalls", action="store_true",
                   help="also count every system call per request (perf stat, root)")
    p.add_argument("--before-args", default="", help="extra arguments for the before slotgate")
    p.add_argument("--after-args", default="", help="extra arguments for the after slotgate")
    p.add_argument("--only", default=DEFAULT_TESTS, help=f"comma-separated tests (default {DEFAULT_TESTS})")
    p.add_argument("--json", default=os.path.join(run.REPO, "bench", "results", "compare.jsonl"))
    a = p.parse_args()
    if a.rounds < 1:
        p.error("--rounds must be at least 1")
    for path in (a.before, a.after):
        if not os.access(path, os.X_OK):
            p.error(f"{path} is not an executable")
    try:
        a.thread_counts = [int(t) for t in a.threads.split(",") if t]
    except ValueError:
        p.error("--threads takes comma-separated numbers")
    if not a.thread_counts or min(a.thread_counts) < 1:
        p.error("--threads takes comma-separated numbers of at least 1")
    a.quick = False
    return a


def compare_builds(args, cluster, jf, tests, threads, prefilled):
    """Both builds with --threads `threads`, every test A B A B; returns the compare rows and what
    the string keys hold at the end (so the next pair does not prefill them again)."""
    rows = []
    with Slotgate(os.path.abspath(args.before), cluster.seeds(), threads=threads, log_level="warn",
                  extra_args=args.before_args.split()) as a, \
         Slotgate(os.path.abspath(args.after), cluster.seeds(), threads=threads, log_level="warn",
                  extra_args=args.after_args.split()) as b:
        ctx = Ctx(args, cluster, b, jf)
        ctx.prefilled = prefilled
        before = Target("before", a.port, False, a.proc.pid, threads=threads)
        after = Target("after", b.port, False, b.proc.pid, threads=threads)
        discover_tags(ctx)
        for test in tests:
            ensure_data(ctx, test.data)
            progress(f"{test.label} -c {args.clients} -P {test.pipeline} --threads {threads}")
            n = calibrate(ctx, test, args.clients, [before, after], {})
            if test.prepare:
                test.prepare(ctx, test, args.clients, n)
            runs = alternate(ctx, test, args.clients, [before, after], n)
            row = dict(type="compare", test=test.name, label=test.label, pipeline=test.pipeline,
                       clients=args.clients, threads=threads, requests=n)
            for name, rs in runs.items():
                ok = [r for r in rs if not r["error"]]
                row[f"{name}_rps"] = median(r["rps"] for r in ok)
                row[f"{name}_cpu_us"] = median(r["cpu_s_per_million"] for r in ok)  # s/M = µs/request
                row[f"{name}_p99_ms"] = median(r["p99_ms"] for r in ok)
                row[f"{name}_errors"] = len(rs) - len(ok)
                row[f"{name}_costs"] = cost_medians(rs)
            row["rps_ratio"] = (row["after_rps"] / row["before_rps"]
                                if row["after_rps"] and row["before_rps"] else None)
            row["cpu_ratio"] = (row["after_cpu_us"] / row["before_cpu_us"]
                                if row["after_cpu_us"] and row["before_cpu_us"] else None)
            jf.write(json.dumps(row) + "\n")
            jf.flush()
            rows.append(row)
            if test.cleanup:
                test.cleanup(ctx)
        for gate in (a, b):
            if gate.proc.poll() is not None:
                ctx.problems.append(f"slotgate {gate.binary} exited during the run")
    for text in ctx.problems:
        progress(f"problem: {text}")
    return rows, ctx.prefilled


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
                                 before_args=args.before_args, after_args=args.after_args,
                                 nproc=os.cpu_count(), rounds=args.rounds, clients=args.clients,
                                 threads=args.thread_counts, loadavg=open("/proc/loadavg").read().split()[:3]))
                 + "\n")
        prefilled = None
        for threads in args.thread_counts:
            more, prefilled = compare_builds(args, cluster, jf, tests, threads, prefilled)
            rows += more
    loadavg = open("/proc/loadavg").read().split()[:3]
    w = sys.stdout.write
    w(f"\nafter vs before, medians of {args.rounds} rounds (A B A B), -c {args.clients}, "
      f"{os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}, load average at the end {' '.join(loadavg)}\n")
    hdr = (f"{'test':<12} {'-t':>2} {'before rps':>11} {'after rps':>11} {'ratio':>6} {'before µs/req':>14} "
           f"{'after µs/req':>13} {'ratio':>6} {'p99 b/a ms':>13} {'err':>4}")
    w(hdr + "\n" + "-" * len(hdr) + "\n")
    for r in rows:
        w(f"{r['label']:<12} {r['threads']:>2} {fmt_rps(r['before_rps']):>11} {fmt_rps(r['after_rps']):>11} "
          f"{fmt(r['rps_ratio']):>6} {fmt(r['before_cpu_us']):>14} {fmt(r['after_cpu_us']):>13} "
          f"{fmt(r['cpu_ratio']):>6} {fmt(r['before_p99_ms'], 3) + '/' + fmt(r['after_p99_ms'], 3):>13} "
          f"{r['before_errors'] + r['after_errors']:>4}\n")
    w(f"µs/req: slotgate CPU (user+system, all threads) per request; -t: --threads\n")
    w(f"\nwhere the CPU goes, per request\n{'test':<12} {'-t':>2} {'':>6} {COSTS_HEADER}"
      f"{' sys/rq' if args.syscalls else ''}\n")
    for r in rows:
        for name in ("before", "after"):
            w(f"{r['label']:<12} {r['threads']:>2} {name:>6} {fmt_costs(r[name + '_costs'])}\n")
    w(COSTS_NOTE + ("; sys/rq: every system call per request (perf)" if args.syscalls else "")
      + f"\ntotal {time.monotonic() - started:.0f}s\n")
    errors = sum(r["before_errors"] + r["after_errors"] for r in rows)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
