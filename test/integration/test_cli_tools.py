"""Stock Redis tools in plain (non-cluster) mode against slotgate: redis-cli, --pipe mass
insertion, redis-benchmark; plus the commands slotgate answers itself."""

import re
import subprocess
import sys

import pytest
import redis

from cluster import HOST, RawConnection, RespError, encode_command, key_slot


def cli(gate, *args, stdin=None, timeout=60):
    res = subprocess.run(["redis-cli", "-h", HOST, "-p", str(gate.port)] + [str(a) for a in args],
                         input=stdin, capture_output=True, timeout=timeout)
    return res.returncode, res.stdout.decode(errors="replace"), res.stderr.decode(errors="replace")


def cli_ok(gate, *args, **kw):
    rc, out, err = cli(gate, *args, **kw)
    assert rc == 0, f"redis-cli {args} exited {rc}: {out} {err}"
    return out.strip()


def scan_masters(cluster, pattern):
    """{key: node} for keys matching pattern, read directly from every master."""
    found = {}
    for m in cluster.masters():
        for k in cluster.client(m).scan_iter(match=pattern, count=1000):
            found[k] = m
    return found


def test_redis_cli_basic(cluster, gate):
    assert cli_ok(gate, "set", "foo", "bar") == "OK"
    assert cli_ok(gate, "get", "foo") == "bar"
    assert cli_ok(gate, "ping") == "PONG"
    assert cli_ok(gate, "incr", "cli:counter") == "1"
    assert cli_ok(gate, "get", "nosuchkey:cli") == ""
    assert cli_ok(gate, "-r", "5", "incr", "cli:counter").split() == ["2", "3", "4", "5", "6"]
    assert cli_ok(gate, "echo", "hello world") == "hello world"
    assert cluster.client(cluster.owner_of("foo")).get("foo") == b"bar"


def test_redis_cli_keyslot(cluster, gate):
    node = cluster.client(cluster.masters()[0])
    for k in ["foo", "bar", "{user1000}.following", "somekey:12345", "a{}b"]:
        assert int(cli_ok(gate, "cluster", "keyslot", k)) == node.execute_command("CLUSTER", "KEYSLOT", k), k
    assert cli_ok(gate, "cluster", "keyslot", "foo") == "12182"


def test_redis_cli_pipe_mass_insertion(cluster, gate):
    n = 10_000
    data = b"".join(encode_command("SET", f"mass:{i}", f"value-{i}") for i in range(n))
    rc, out, err = cli(gate, "--pipe", stdin=data, timeout=120)
    assert rc == 0, (rc, out, err)
    assert "errors: 0, replies: 10000" in out, out + err
    found = scan_masters(cluster, "mass:*")
    assert len(found) == n, len(found)
    owners = cluster.slot_owners()
    for k, node in found.items():
        assert owners[key_slot(k)] is node, k
    for i in range(0, n, 499):
        k = f"mass:{i}"
        assert cluster.client(owners[key_slot(k)]).get(k) == f"value-{i}".encode()


def _flush_masters(cluster):
    for m in cluster.masters():
        cluster.client(m).flushall()


def _benchmark(gate, *args, timeout=180):
    cmd = ["redis-benchmark", "-h", HOST, "-p", str(gate.port)] + [str(a) for a in args]
    res = subprocess.run(cmd, capture_output=True, timeout=timeout)
    out = res.stdout.decode(errors="replace") + res.stderr.decode(errors="replace")
    print("  " + " ".join(cmd[1:]))
    lines = [ln.strip() for ln in re.split(r"[\r\n]", out) if "requests per second" in ln]
    for ln in lines:
        print("    " + ln)
    assert res.returncode == 0, f"redis-benchmark exited {res.returncode}:\n{out[-3000:]}"
    for bad in ("ERR", "MOVED", "ASK ", "CLUSTERDOWN"):
        assert bad not in out, f"redis-benchmark output contains {bad!r}:\n{out[-3000:]}"
    assert "error" not in out.lower(), f"redis-benchmark output mentions an error:\n{out[-3000:]}"
    return lines


def test_redis_benchmark(cluster, gate):
    _flush_masters(cluster)
    n = 20_000
    lines = _benchmark(gate, "-t", "set,get,incr,lpush,hset", "-r", 100000, "-n", n, "-q")
    for test in ("SET", "GET", "INCR", "LPUSH", "HSET"):
        assert any(ln.startswith(test + ":") for ln in lines), f"no result line for {test}: {lines}"

    # What it wrote is in the cluster, on the right owners, and nothing got lost or doubled.
    owners = cluster.slot_owners()
    keys = scan_masters(cluster, "key:*")
    assert 0 < len(keys) <= n, len(keys)
    assert all(owners[key_slot(k)] is node for k, node in keys.items())
    assert len({node.port for node in keys.values()}) == len(cluster.masters())
    counters = scan_masters(cluster, "counter:*")
    total = 0
    for k, node in counters.items():
        total += int(cluster.client(node).get(k))
    assert total == n, f"INCRs: {total} counted in the cluster, {n} sent"
    mylist = cluster.client(owners[key_slot("mylist")])
    assert mylist.llen("mylist") == n
    myhash = cluster.client(owners[key_slot("myhash")])
    assert 0 < myhash.hlen("myhash") <= n
    r = gate.client()
    for k in list(keys)[:50]:
        assert r.get(k) == cluster.client(keys[k]).get(k)


def test_redis_benchmark_pipelined(cluster, gate):
    _flush_masters(cluster)
    n = 50_000
    lines = _benchmark(gate, "-t", "set,get,incr", "-r", 100000, "-n", n, "-P", 16, "-q")
    for test in ("SET", "GET", "INCR"):
        assert any(ln.startswith(test + ":") for ln in lines), f"no result line for {test}: {lines}"
    counters = scan_masters(cluster, "counter:*")
    total = sum(int(cluster.client(node).get(k)) for k, node in counters.items())
    assert total == n, f"INCRs: {total} counted in the cluster, {n} sent"


def test_local_commands(cluster, gate):
    with gate.raw() as conn:
        reply = conn.call("NOSUCHCOMMAND", "arg1")
        assert isinstance(reply, RespError) and str(reply).startswith("ERR unknown command"), reply
        assert conn.call("SELECT", "0") == b"OK"
        reply = conn.call("SELECT", "1")
        assert isinstance(reply, RespError) and str(reply).startswith("ERR"), reply
        assert conn.call("ECHO", "hello\r\nworld") == b"hello\r\nworld"
        assert conn.call("PING") == b"PONG"
        assert conn.call("PING", "msg") == b"msg"
        assert conn.call("SET", "local:k", "v") == b"OK"  # still usable after the errors
        assert conn.call("QUIT") == b"OK"
        assert conn.at_eof(), "connection should be closed after QUIT"


def test_errors_match_redis(cluster, gate):
    """Errors for bad commands read exactly as a real Redis node words them."""
    bad = [
        ("NOSUCHCOMMAND", "x", "y"), ("nosuch",),                                # unknown
        ("GET",), ("SET", "errs:k"), ("HSET", "errs:k", "f"),                    # arity
        ("ECHO",), ("ECHO", "a", "b"), ("PING", "a", "b"), ("SELECT",),          # local, arity
        ("CLUSTER", "KEYSLOT"), ("OBJECT", "ENCODING"), ("XGROUP", "CREATE", "errs:k"),
        ("OBJECT", "NOSUCH", "errs:k"),                                          # subcommand
        ("SELECT", "notanumber"), ("INCRBY", "errs:k", "notanumber"),            # values
        ("SET", "errs:k", "v", "EX", "-5"), ("SET", "errs:k", "v", "BOGUS"), ("GETRANGE", "errs:k", "a", "b"),
    ]
    owner = cluster.owner_of("errs:k")
    mismatches = []
    with gate.raw() as conn, RawConnection(owner.port) as node:
        for cmd in bad:
            want, got = node.call(*cmd), conn.call(*cmd)
            assert isinstance(want, RespError), (cmd, want)
            if not (isinstance(got, RespError) and str(got) == str(want)):
                mismatches.append(f"{cmd}: slotgate says {got!r}, Redis says {want!r}")
    assert not mismatches, "\n".join(mismatches)


def test_redis_cli_errors(cluster, gate):
    rc, out, err = cli(gate, "nosuchcommand", "x")
    assert "ERR unknown command" in out + err, out + err
    rc, out, err = cli(gate, "select", "1")
    assert "ERR" in out + err, out + err


def test_slotgate_own_commands(cluster, gate):
    """SLOTGATE CONFIG GET/SET and SLOTGATE TOPOLOGY: slotgate's settings and view of the cluster."""
    r = gate.client()
    settings = r.execute_command("SLOTGATE", "CONFIG", "GET", "*")
    pairs = dict(zip(settings[::2], settings[1::2]))
    assert pairs[b"listen"] == f"{HOST}:{gate.port}".encode(), pairs
    assert pairs[b"threads"] == b"2" and pairs[b"max_redirects"] == b"5", pairs
    assert r.execute_command("SLOTGATE", "CONFIG", "GET", "limits.*")[0].startswith(b"limits.")
    assert r.execute_command("SLOTGATE", "CONFIG", "SET", "log.level", "INFO") in (b"OK", "OK")
    assert r.execute_command("SLOTGATE", "CONFIG", "GET", "log.level") == [b"log.level", b"info"]
    for args, needle in ((["threads", "4"], "cannot change while running"),
                         (["nosuch", "1"], "unknown slotgate setting"),
                         (["log.level", "loud"], "invalid value")):
        try:
            r.execute_command("SLOTGATE", "CONFIG", "SET", *args)
        except redis.ResponseError as e:
            assert needle in str(e), e
        else:
            raise AssertionError(f"SLOTGATE CONFIG SET {args} succeeded")
    lines = r.execute_command("SLOTGATE", "TOPOLOGY").decode().strip().splitlines()
    assert len(lines) == len(cluster.nodes), lines
    primaries = [l for l in lines if " primary " in l]
    assert len(primaries) == len(cluster.masters()), lines
    assert sum(int(re.search(r"slots=(\d+)", l).group(1)) for l in primaries) == 16384, lines
    for m in cluster.masters():
        assert any(m.id in l and f":{m.port} " in l for l in primaries), (m, lines)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, *sys.argv[1:]]))
