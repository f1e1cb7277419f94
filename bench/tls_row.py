"""The TLS row of bench/run.py (`--tls`, or `--only tls` for it alone): what TLS to the nodes costs.

One 3+3 cluster whose nodes serve TLS and plain ports side by side (bus and replication over
TLS; certificates made with openssl, test/support/tls_certs.py), and four targets alternating in
every round (A B C D, medians):

  direct_tls      redis-benchmark --cluster --tls straight to the nodes' TLS ports
  slotgate_tls    slotgate (--threads 2) speaking TLS to the nodes; redis-benchmark plain to it
                  on loopback: the sidecar in front of an encrypted cluster
  direct_plain    redis-benchmark --cluster to the nodes' plain ports
  slotgate_plain  slotgate (--threads 2) in plain text to the plain ports (gossip off: the bus is
                  TLS, which a slotgate without backend.tls cannot watch)

GET and SET, -c 50, -P 1 and -P 16. The row the issue asks for is slotgate_tls / direct_tls; the
plain pair on the same nodes in the same rounds says what TLS itself adds: slotgate's CPU per
request with TLS over without, and the nodes' CPU per request either way.
"""

import json
import sys
import time

from cluster import RedisCluster, Slotgate

TARGETS = ("direct_tls", "slotgate_tls", "direct_plain", "slotgate_plain")
CLIENTS = 50


def _tests(b):
    small = (3, b.DEFAULT_KEYSPACE)
    return [b.Test("tls_set", "SET", builtin="set", data=small),
            b.Test("tls_get", "GET", builtin="get", data=small),
            b.Test("tls_set_p16", "SET -P16", pipeline=16, builtin="set", data=small),
            b.Test("tls_get_p16", "GET -P16", pipeline=16, builtin="get", data=small)]


def _target(b, name, port, cluster_mode, pid=None, tls_args=()):
    t = b.Target(name, port, cluster_mode, pid)
    t.tls_args = list(tls_args)  # bench_args() adds them to redis-benchmark's command line
    return t


def _summary(b, test, n, runs, rounds):
    med = lambda name, k: b.median(r[k] for r in runs[name] if not r["error"])  # noqa: E731
    res = dict(type="tls", test=test.name, label=test.label, clients=CLIENTS, pipeline=test.pipeline,
               requests=n, rounds=rounds)
    for name in TARGETS:
        res[f"{name}_rps"] = med(name, "rps")
        res[f"{name}_p50_ms"] = med(name, "p50_ms")
        res[f"{name}_p99_ms"] = med(name, "p99_ms")
        # The nodes' CPU (all six) per request, microseconds; slotgate's for its targets.
        res[f"{name}_nodes_cpu_us"] = b.median(r["redis_cpu_s"] / n * 1e6 for r in runs[name]
                                               if not r["error"] and r["redis_cpu_s"] is not None)
        if name.startswith("slotgate"):
            res[f"{name}_cpu_us"] = med(name, "cpu_s_per_million")  # CPU s per million = µs per request
    ratio = lambda a, c: res[a] / res[c] if res[a] and res[c] else None  # noqa: E731
    res["ratio_tls"] = ratio("slotgate_tls_rps", "direct_tls_rps")
    res["ratio_plain"] = ratio("slotgate_plain_rps", "direct_plain_rps")
    res["slotgate_tls_cost"] = ratio("slotgate_tls_cpu_us", "slotgate_plain_cpu_us")  # CPU with / without
    res["direct_tls_cost"] = ratio("direct_plain_rps", "direct_tls_rps")  # rate without / with
    res["errors"] = sum(1 for name in TARGETS for r in runs[name] if r["error"])
    for k, v in list(res.items()):
        if isinstance(v, float):
            res[k] = round(v, 3)
    return res


def run(b, args, binary, json_out):
    """Measures the TLS row with bench/run.py's machinery (module `b`). Returns (rows, problems)."""
    rows = []
    b.progress("TLS row: a 3+3 cluster with TLS and plain ports (bus and replication over TLS)")
    with RedisCluster(tls=True, node_timeout=5000) as cluster:
        certs = cluster.certs
        with Slotgate(binary, cluster.seeds(), threads=2, log_level="warn", certs=certs,
                      backend_tls=True) as gate_tls, \
                Slotgate(binary, cluster.plain_seeds(), threads=2, log_level="warn",
                         config={"topology": {"gossip": False}}) as gate_plain:
            ctx = b.Ctx(args, cluster, gate_tls, json_out)
            tls_args = ["--tls", "--cacert", certs.ca]
            first = cluster.masters()[0]
            ctx.direct = _target(b, "direct_tls", first.port, True, tls_args=tls_args)
            ctx.slotgate = _target(b, "slotgate_tls", gate_tls.port, False, gate_tls.proc.pid)
            targets = [ctx.direct, ctx.slotgate, _target(b, "direct_plain", first.plain_port, True),
                       _target(b, "slotgate_plain", gate_plain.port, False, gate_plain.proc.pid)]
            b.progress(f"TLS row: slotgate TLS->nodes on {gate_tls.addr}, plain->nodes on {gate_plain.addr}")
            try:
                b.discover_tags(ctx)
                for test in _tests(b):
                    b.ensure_data(ctx, test.data)
                    b.progress(f"TLS row: {test.label} -c {CLIENTS} -P {test.pipeline}")
                    n = b.calibrate(ctx, test, CLIENTS, targets, {})
                    runs = b.alternate(ctx, test, CLIENTS, targets, n)
                    res = _summary(b, test, n, runs, args.rounds)
                    ctx.emit(res)
                    rows.append(res)
                    b.progress(f"  slotgate_tls/direct_tls {b.fmt(res['ratio_tls'])}, slotgate CPU "
                               f"{b.fmt(res['slotgate_tls_cpu_us'])} µs/request with TLS, "
                               f"{b.fmt(res['slotgate_plain_cpu_us'])} without")
            except Exception as e:  # report what was measured so far
                import traceback
                traceback.print_exc()
                ctx.problems.append(f"TLS row stopped early: {e!r}")
            for g in (gate_tls, gate_plain):
                if g.proc.poll() is not None:
                    ctx.problems.append(f"a slotgate of the TLS row exited with {g.proc.returncode}")
    return rows, ctx.problems


def print_rows(b, rows, rounds):
    w = sys.stdout.write
    w(f"\nTLS to the nodes, -c {CLIENTS}: medians of {rounds} rounds, A B C D on one cluster (TLS and plain "
      "ports); slotgate listens plain on loopback\n")
    hdr = (f"{'test':<9} {'direct TLS':>11} {'slotgate TLS':>12} {'ratio':>6} {'direct plain':>12} "
           f"{'slotgate plain':>14} {'ratio':>6} {'sg µs/rq TLS/plain':>19} {'nodes µs/rq d/sg TLS':>21} "
           f"{'nodes µs/rq d/sg plain':>23} {'err':>3}")
    w(hdr + "\n" + "-" * len(hdr) + "\n")
    for r in rows:
        f2 = lambda a, c: f"{b.fmt(r[a], 1)}/{b.fmt(r[c], 1)}"  # noqa: E731
        w(f"{r['label']:<9} {b.fmt_rps(r['direct_tls_rps']):>11} {b.fmt_rps(r['slotgate_tls_rps']):>12} "
          f"{b.fmt(r['ratio_tls']):>6} {b.fmt_rps(r['direct_plain_rps']):>12} "
          f"{b.fmt_rps(r['slotgate_plain_rps']):>14} {b.fmt(r['ratio_plain']):>6} "
          f"{f2('slotgate_tls_cpu_us', 'slotgate_plain_cpu_us'):>19} "
          f"{f2('direct_tls_nodes_cpu_us', 'slotgate_tls_nodes_cpu_us'):>21} "
          f"{f2('direct_plain_nodes_cpu_us', 'slotgate_plain_nodes_cpu_us'):>23} {r['errors']:>3}\n")
    w("ratio: slotgate / direct rps; sg µs/rq: slotgate's CPU (user+system, all threads) per request; "
      "nodes µs/rq: the six redis-servers' CPU per request, direct / through slotgate\n")
    sys.stdout.flush()


def main_hook(b, args, binary, json_out):
    """Called by bench/run.py: runs the row, prints it, returns the problems seen."""
    t = time.monotonic()
    rows, problems = run(b, args, binary, json_out)
    print_rows(b, rows, args.rounds)
    for p in problems:
        json_out.write(json.dumps(dict(type="problem", text=p)) + "\n")
        sys.stdout.write(f"  problem: {p}\n")
    sys.stdout.write(f"TLS row: {time.monotonic() - t:.0f}s\n")
    return problems


if __name__ == "__main__":
    sys.exit("run it through bench/run.py --tls (or --only tls)")
