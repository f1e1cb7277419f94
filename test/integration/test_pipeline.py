"""Pipelining through slotgate: replies come back complete and in order, per client.

Commands in one pipeline hit keys on every master, so backends answer out of order; slotgate must
still return the replies in the order the commands were sent.
"""

import sys
import threading
import time

import pytest
import redis

from cluster import RespError, encode_command, key_slot

N = 10_000


def test_redis_py_pipeline_10k_mixed(cluster, gate):
    r = gate.client()
    for j in range(97):
        r.delete(f"pl:cnt:{j}")
    pipe = r.pipeline(transaction=False)
    expected, counters = [], {}
    for i in range(N):
        kind = i % 3
        if kind == 0:
            pipe.set(f"pl:{i}", f"v{i}")
            expected.append(True)
        elif kind == 1:
            pipe.get(f"pl:{i - 1}")  # written by the previous command of this same pipeline
            expected.append(f"v{i - 1}".encode())
        else:
            c = f"pl:cnt:{i % 97}"
            counters[c] = counters.get(c, 0) + 1
            pipe.incr(c)
            expected.append(counters[c])
    t = time.monotonic()
    got = pipe.execute()
    print(f"  10k-command pipeline took {time.monotonic() - t:.2f}s")
    assert len(got) == N, len(got)
    bad = [(i, e, g) for i, (e, g) in enumerate(zip(expected, got)) if e != g]
    assert not bad, f"{len(bad)} wrong replies, first: {bad[:5]}"
    slots = {key_slot(f"pl:{i}") for i in range(0, N, 3)}
    assert len(slots) > 2500, len(slots)


def test_pipeline_errors_stay_in_place(cluster, gate):
    r = gate.client()
    r.set("ple:str", "notanumber")
    pipe = r.pipeline(transaction=False)
    for i in range(300):
        pipe.set(f"ple:{i}", i)
        pipe.incr("ple:str")  # always an error, from one backend
        pipe.get(f"ple:{i}")
    got = pipe.execute(raise_on_error=False)
    assert len(got) == 900
    for i in range(300):
        assert got[3 * i] is True, (i, got[3 * i])
        assert isinstance(got[3 * i + 1], redis.ResponseError), (i, got[3 * i + 1])
        assert "not an integer" in str(got[3 * i + 1])
        assert got[3 * i + 2] == str(i).encode(), (i, got[3 * i + 2])


def test_raw_10k_gets_in_one_write(cluster, gate):
    r = gate.client()
    values = {}
    pipe = r.pipeline(transaction=False)
    for i in range(N):
        if i % 10 == 9:
            continue  # left missing: a nil reply
        v = (f"value-{i}-".encode() + bytes([i % 256]) + b"\r\n") * (1 + i % 4)
        values[i] = v
        pipe.set(f"raw:{i}", v)
    assert all(x is True for x in pipe.execute())
    payload = b"".join(encode_command("GET", f"raw:{i}") for i in range(N))
    with gate.raw(timeout=60) as conn:
        t = time.monotonic()
        conn.send(payload)
        replies = [conn.read_reply() for _ in range(N)]
        print(f"  {len(payload)} bytes in one write, {N} replies read in {time.monotonic() - t:.2f}s")
        bad = [(i, values.get(i), rep) for i, rep in enumerate(replies) if rep != values.get(i)]
        assert not bad, f"{len(bad)} wrong replies, first: {bad[:5]}"
        assert conn.call("PING") == b"PONG"  # the connection is still in sync


def test_inline_commands(cluster, gate):
    with gate.raw() as conn:
        conn.send(b"PING\r\n")
        assert conn.read_reply() == b"PONG"
        conn.send(b"SET a b\r\n")
        assert conn.read_reply() == b"OK"
        conn.send(b"GET a\r\n")
        assert conn.read_reply() == b"b"
        # Several inline commands in one write, one of them ending in a bare \n, mixed with RESP.
        conn.send(b"SET inline:x 1\r\nINCR inline:x\nGET inline:x\r\n" + encode_command("GET", "a"))
        assert [conn.read_reply() for _ in range(4)] == [b"OK", 2, b"2", b"b"]
    owner = cluster.owner_of("a")
    assert cluster.client(owner).get("a") == b"b"


def test_inline_quoted_args(cluster, gate):
    # Redis splits inline commands like a shell: "..." with escapes and '...'.
    with gate.raw() as conn:
        conn.send(b'SET "inline:q 1" "hello world\\x41\\n"\r\n')
        assert conn.read_reply() == b"OK"
        conn.send(b"GET 'inline:q 1'\r\n")
        assert conn.read_reply() == b"hello worldA\n"
    assert cluster.client(cluster.owner_of("inline:q 1")).get("inline:q 1") == b"hello worldA\n"


def test_concurrent_pipelining_clients(cluster, gate):
    n_clients, per_client = 50, 600
    errors, done = [], []
    start = threading.Barrier(n_clients, timeout=30)

    def client_main(t):
        try:
            r = gate.client()
            start.wait()
            for rnd in range(3):
                pipe = r.pipeline(transaction=False)
                for i in range(per_client // 3):
                    pipe.set(f"cc:{t}:{i}", f"t{t}-r{rnd}-{i}")
                    pipe.get(f"cc:{t}:{i}")
                    pipe.incr(f"cc:{t}:counter")
                got = pipe.execute()
                for i in range(per_client // 3):
                    s, g, c = got[3 * i:3 * i + 3]
                    exp = f"t{t}-r{rnd}-{i}".encode()
                    if s is not True or g != exp or c != rnd * (per_client // 3) + i + 1:
                        errors.append((t, rnd, i, s, g, c))
                        return
            done.append(t)
        except Exception as e:  # recorded, checked below
            errors.append((t, repr(e)))

    for t in range(n_clients):
        gate.client().delete(f"cc:{t}:counter")
    threads = [threading.Thread(target=client_main, args=(t,), daemon=True) for t in range(n_clients)]
    t0 = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=max(1.0, 120 - (time.monotonic() - t0)))
    assert not any(th.is_alive() for th in threads), "clients still running after 120 s"
    assert not errors, f"{len(errors)} clients got wrong replies, first: {errors[:3]}"
    assert len(done) == n_clients
    print(f"  {n_clients} clients x {3 * per_client} commands in {time.monotonic() - t0:.2f}s")
    # Spot-check directly on the owners.
    owners = cluster.slot_owners()
    for t in range(0, n_clients, 7):
        k = f"cc:{t}:5"
        assert cluster.client(owners[key_slot(k)]).get(k) == f"t{t}-r2-5".encode()


def test_pipelined_raw_mixed_sizes(cluster, gate):
    """Big and small values interleaved in one write, so replies span many reads."""
    sizes = [0, 1, 10, 1000, 70_000, 300_000, 3, 1_000_000, 5]
    cmds, expected = [], []
    for i in range(200):
        size = sizes[i % len(sizes)]
        v = bytes((i + j) % 256 for j in range(min(size, 256))) * (size // 256 + 1)
        v = v[:size]
        cmds.append(encode_command("SET", f"mix:{i}", v))
        expected.append(b"OK")
        cmds.append(encode_command("GET", f"mix:{i}"))
        expected.append(v)
        cmds.append(encode_command("STRLEN", f"mix:{i}"))
        expected.append(size)
    with gate.raw(timeout=60) as conn:
        conn.send(b"".join(cmds))
        got = [conn.read_reply() for _ in range(len(expected))]
    bad = [i for i, (e, g) in enumerate(zip(expected, got)) if e != g]
    assert not bad, f"{len(bad)} wrong replies, first at {bad[:5]}"
    assert not any(isinstance(g, RespError) for g in got)


def test_commands_split_across_writes(cluster, gate):
    """A command arriving a few bytes at a time is parsed the same as one arriving whole."""
    data = (encode_command("SET", "split:k", b"abc\r\ndef" * 50) + encode_command("GET", "split:k")
            + b"PING\r\n" + encode_command("STRLEN", "split:k"))
    with gate.raw() as conn:
        for i in range(0, len(data), 7):
            conn.send(data[i:i + 7])
            if i % 70 == 0:
                time.sleep(0.002)
        assert [conn.read_reply() for _ in range(4)] == [b"OK", b"abc\r\ndef" * 50, b"PONG", 400]


def test_client_leaves_with_replies_pending(cluster, gate):
    """Clients that disconnect with thousands of replies outstanding do not hurt slotgate."""
    payload = b"".join(encode_command("GET", f"raw:{i}") for i in range(N))
    for _ in range(5):
        conn = gate.raw()
        conn.send(payload)
        conn.close()
    time.sleep(0.5)
    gate.check_alive()
    r = gate.client()
    assert r.set("after:leave", "ok") is True and r.get("after:leave") == b"ok"


def test_protocol_error_closes_only_that_client(cluster, gate):
    other = gate.client()
    other.set("proto:k", "v")
    with gate.raw() as conn:
        conn.send(b"*1\r\n$abc\r\n")
        reply = conn.read_reply()
        assert isinstance(reply, RespError) and str(reply).startswith("ERR Protocol error"), reply
        assert conn.at_eof(), "connection should be closed after a protocol error"
    assert other.get("proto:k") == b"v"


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, *sys.argv[1:]]))
