"""The admin HTTP port and SLOWLOG: /metrics values move with traffic, /healthz, /topology,
/readyz through a failover, malformed HTTP, and SLOWLOG entries that tell node time from proxy
time."""

import json
import socket
import sys
import time

import pytest
import redis

from cluster import HOST, log, wait_until

pytestmark = pytest.mark.slotgate(admin=True)


def _metric(m, name, **labels):
    if labels:
        name += "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"
    return m.get(name, 0.0)


def test_metrics_move_with_traffic(cluster, gate):
    r = gate.client()
    before = gate.metrics()
    pipe = r.pipeline(transaction=False)
    for i in range(200):
        pipe.set(f"metrics:{i}", "x" * 100)
    pipe.execute()
    for i in range(100):
        assert r.get(f"metrics:{i}") == b"x" * 100
    for _ in range(7):
        try:
            r.execute_command("INCR", "metrics:0")  # not an integer
        except redis.ResponseError:
            pass
    r.mget([f"metrics:{i}" for i in range(50)])
    # Commands a session handles itself (transactions, blocking commands) are counted too.
    for _ in range(3):
        tx = r.pipeline(transaction=True)
        tx.set("metrics:tx", "1").incr("metrics:tx")
        tx.execute()
    assert r.blpop(["metrics:list"], timeout=0.1) is None
    after = gate.metrics()

    def delta(name, **labels):
        return _metric(after, name, **labels) - _metric(before, name, **labels)

    assert delta("slotgate_commands_total", cmd="get") == 100
    assert delta("slotgate_commands_total", cmd="incr") == 7
    assert delta("slotgate_command_errors_total", cmd="incr") == 7
    assert delta("slotgate_command_errors_total", cmd="set") == 0
    assert delta("slotgate_commands_total", cmd="mget") == 1
    assert delta("slotgate_commands_total", cmd="multi") == 3
    assert delta("slotgate_commands_total", cmd="exec") == 3
    assert delta("slotgate_commands_total", cmd="set") == 200 + 3  # queued in MULTI: counted once
    assert delta("slotgate_commands_total", cmd="blpop") == 1
    assert delta("slotgate_command_errors_total", cmd="exec") == 0
    assert delta("slotgate_request_duration_seconds_count") >= 308
    assert delta("slotgate_backend_duration_seconds_count") >= 308  # the MGET went out in parts
    assert delta("slotgate_session_total_commands_processed_total") >= 308
    assert delta("slotgate_request_commands_forwarded_total") >= 308
    assert delta("slotgate_client_bytes_received_total") > 200 * 100
    assert delta("slotgate_client_bytes_sent_total") > 100 * 100
    assert delta("slotgate_backend_bytes_sent_total") > 200 * 100
    assert after["slotgate_session_connected_clients"] >= 1
    p50 = after["slotgate_request_duration_seconds_p50"]
    p99 = after["slotgate_request_duration_seconds_p99"]
    assert 0 < p50 <= p99 < 5, (p50, p99)
    assert after['slotgate_request_duration_seconds_bucket{le="+Inf"}'] == \
        after["slotgate_request_duration_seconds_count"]
    for m in cluster.masters():
        assert _metric(after, "slotgate_backend_connections", node=m.addr) >= 1, m
    assert after["slotgate_cluster_slots_covered"] == 16384
    assert after["slotgate_ready"] == 1
    assert after["slotgate_memory_rss_bytes"] > 1_000_000


def test_healthz_and_topology(cluster, gate):
    assert gate.admin_get("/healthz") == (200, "ok\n")
    assert gate.admin_get("/readyz")[0] == 200
    status, body = gate.admin_get("/topology")
    assert status == 200
    topo = json.loads(body)
    assert topo["slots_covered"] == 16384
    assert len(topo["nodes"]) == len(cluster.nodes)
    primaries = [n for n in topo["nodes"] if n["role"] == "primary"]
    assert sorted(n["address"] for n in primaries) == sorted(m.addr for m in cluster.masters())
    assert sum(n["slots"] for n in primaries) == 16384
    for n in primaries:
        assert n["health"] == "online"
        assert sum(b - a + 1 for a, b in n["slot_ranges"]) == n["slots"]
    ids = {n["id"] for n in primaries}
    assert all(n["primary_id"] in ids for n in topo["nodes"] if n["role"] == "replica")


def _raw_http(gate, data, timeout=5.0):
    s = socket.create_connection((HOST, gate.admin_port), timeout=timeout)
    try:
        s.sendall(data)
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        s.close()


def test_bad_http_requests(gate):
    assert _raw_http(gate, b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 404")
    assert _raw_http(gate, b"DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 405")
    assert _raw_http(gate, b"GET /metrics\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert _raw_http(gate, b"GET /metrics HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 400")  # no Host
    assert _raw_http(gate, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64 + b"\r\n")\
        .startswith(b"HTTP/1.1 400")
    assert _raw_http(gate, b"GET /" + b"a" * 10000).startswith(b"HTTP/1.1 414")
    head = _raw_http(gate, b"HEAD /healthz HTTP/1.0\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and head.endswith(b"\r\n\r\n"), head
    # The proxy is unharmed.
    assert gate.admin_get("/healthz")[0] == 200
    assert gate.client().ping()


def test_slowlog(cluster, gate):
    r = gate.client()
    assert r.execute_command("SLOTGATE", "CONFIG", "SET", "slowlog.slower_than_us", "50000") in (b"OK", "OK")
    r.execute_command("SLOWLOG", "RESET")
    assert r.execute_command("SLOWLOG", "LEN") == 0
    for i in range(50):
        r.set(f"slow:fast:{i}", i)
    # A Lua busy loop of ~150 ms: slow at the node, not in the proxy.
    script = "local t = redis.call('TIME'); local s = t[1] * 1000000 + t[2]; local n = 0 " \
             "repeat n = n + 1; t = redis.call('TIME') until t[1] * 1000000 + t[2] - s > 150000 return n"
    started = time.monotonic()
    assert r.eval(script, 1, "slow:busy") > 0
    elapsed_us = (time.monotonic() - started) * 1e6
    entries = r.execute_command("SLOWLOG", "GET", "10")
    assert len(entries) == 1, entries
    entry = entries[0]
    ident, when, duration, args, client, name, backend = entry
    assert args[0].lower() == b"eval" and args[2] == b"1" and args[3] == b"slow:busy", args
    assert 150_000 <= duration <= elapsed_us + 1000, (duration, elapsed_us)
    assert 150_000 <= backend <= duration, (backend, duration)
    assert duration - backend < 50_000, "the proxy's own share of a node-slow command is small"
    assert abs(when - time.time()) < 60
    assert client.decode().startswith("127.0.0.1:")
    assert r.execute_command("SLOWLOG", "LEN") == 1
    assert gate.metrics()["slotgate_slowlog_length"] == 1
    # The same loop in a transaction: EXEC is logged with the node's share, and a BLPOP that
    # waited 200 ms is not (like Redis, time spent blocked is not execution time).
    assert r.blpop(["slow:list"], timeout=0.2) is None
    tx = r.pipeline(transaction=True)
    tx.eval(script, 1, "slow:busy")
    assert tx.execute()[0] > 0
    entries = r.execute_command("SLOWLOG", "GET", "10")
    assert len(entries) == 2, entries
    ident, when, duration, args, client, name, backend = entries[0]
    assert args == [b"EXEC"], args
    assert 150_000 <= backend <= duration, (backend, duration)
    # Help and errors answered like Redis.
    assert any(b"GET" in line for line in r.execute_command("SLOWLOG", "HELP"))
    try:
        r.execute_command("SLOWLOG", "GET", "-5")
        raise AssertionError("negative count accepted")
    except redis.ResponseError as e:
        assert "count" in str(e)
    r.execute_command("SLOWLOG", "RESET")
    assert r.execute_command("SLOWLOG", "LEN") == 0
    r.execute_command("SLOTGATE", "CONFIG", "SET", "slowlog.slower_than_us", "10000")


def test_readyz_through_failover(cluster, gate):
    """Last: kills a master. /readyz says 503 while its slots have no live owner, 200 again once
    a replica took over."""
    r = gate.client()
    victim = cluster.masters()[0]
    key = next(f"ready:{i}" for i in range(10000) if cluster.owner_of(f"ready:{i}") is victim)
    r.set(key, "before")
    assert gate.admin_get("/readyz")[0] == 200
    log(f"killing master {victim}")
    victim.proc.kill()
    victim.proc.wait(timeout=10)
    # Requests for the dead master's slots make slotgate refresh; the nodes flag it failed after
    # cluster-node-timeout (2 s), and slotgate's next refresh sees that.
    saw_503 = []
    # Requests for a failed primary's slots are held until a replica takes over: poke with a
    # short timeout so the poll keeps running meanwhile.
    poke = gate.client(socket_timeout=0.3)

    def not_ready():
        try:
            poke.get(key)
        except redis.RedisError:
            pass
        status, body = gate.admin_get("/readyz")
        if status == 503:
            saw_503.append(body)
        return status == 503

    wait_until(not_ready, 30, interval=0.2, what="/readyz to report the failed master")
    log(f"/readyz: {saw_503[-1].strip()}")
    assert "failed" in saw_503[-1] or "owner" in saw_503[-1]

    def ready_again():
        try:
            poke.get(key)
        except redis.RedisError:
            pass
        return gate.admin_get("/readyz")[0] == 200

    wait_until(ready_again, 60, interval=0.3, what="/readyz to be 200 after the failover")
    assert r.get(key) == b"before"
    m = gate.metrics()
    assert m["slotgate_ready"] == 1
    assert m["slotgate_cluster_topology_changes_total"] >= 2
    assert m["slotgate_cluster_failovers_observed_total"] + m["slotgate_cluster_refreshes_node_error_total"] >= 1


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, *sys.argv[1:]]))
