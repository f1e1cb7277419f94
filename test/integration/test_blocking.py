"""Blocking commands and WAIT through slotgate.

Every blocking command runs on a connection of its own to the slot's owner: it wakes up when
another client pushes, times out with Redis's nil, gets CROSSSLOT for keys in several slots, never
delays other clients (200 blocked clients while another one runs GET/SET), and gives its backend
connection back when its client goes away. WAIT goes to the masters that carried the client's
writes and answers the smallest count.
"""

import os
import signal
import sys
import threading
import time

import pytest

from cluster import RespError, encode_command, key_slot, log, slotgate_binary
from state_helpers import ConfiguredSlotgate, blocked_clients, key_on, skey

CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot"


def _send(conn, *args):
    conn.send(encode_command(*args))


def _cases(cluster, round_):
    """(name, blocking command, setup commands, push commands, expected reply, check) per command;
    all keys of a case share one slot, the cases rotate over the masters."""
    masters = cluster.masters()
    out = []

    def k(i, name):
        m = masters[i % len(masters)]
        return key_on(cluster, m, f"blk{round_}:{name}", index=11 + i)

    a = k(0, "blpop")
    out.append(("BLPOP", ["BLPOP", a, a + ":other", 5], [], [["RPUSH", a, "v1"]], [a.encode(), b"v1"]))
    a = k(1, "brpop")
    out.append(("BRPOP", ["BRPOP", a + ":x", a, 5], [], [["RPUSH", a, "a", "b"]], [a.encode(), b"b"]))
    a = k(2, "blmove")
    out.append(("BLMOVE", ["BLMOVE", a, a + ":dst", "LEFT", "RIGHT", 5], [], [["RPUSH", a, "m"]], b"m",
                ("LRANGE", a + ":dst", 0, -1, [b"m"])))
    a = k(3, "brpoplpush")
    out.append(("BRPOPLPUSH", ["BRPOPLPUSH", a, a + ":dst", 5], [], [["RPUSH", a, "p", "q"]], b"q",
                ("LRANGE", a + ":dst", 0, -1, [b"q"])))
    a = k(4, "blmpop")
    out.append(("BLMPOP", ["BLMPOP", 5, 2, a, a + ":2", "LEFT", "COUNT", 2], [],
                [["RPUSH", a + ":2", "x", "y", "z"]], [(a + ":2").encode(), [b"x", b"y"]]))
    a = k(5, "bzpopmin")
    out.append(("BZPOPMIN", ["BZPOPMIN", a, 5], [], [["ZADD", a, 1, "one", 2, "two"]],
                [a.encode(), b"one", b"1"]))
    a = k(6, "bzpopmax")
    out.append(("BZPOPMAX", ["BZPOPMAX", a, 5], [], [["ZADD", a, 1, "one", 2.5, "two"]],
                [a.encode(), b"two", b"2.5"]))
    a = k(7, "bzmpop")
    out.append(("BZMPOP", ["BZMPOP", 5, 1, a, "MIN", "COUNT", 2], [], [["ZADD", a, 1, "a", 2, "b", 3, "c"]],
                [a.encode(), [[b"a", b"1"], [b"b", b"2"]]]))
    a = k(8, "xread")
    out.append(("XREAD", ["XREAD", "COUNT", 10, "BLOCK", 5000, "STREAMS", a, "$"],
                [["XADD", a, "1-1", "old", "x"]], [["XADD", a, "2-1", "f", "v"]],
                [[a.encode(), [[b"2-1", [b"f", b"v"]]]]]))
    a = k(9, "xreadgroup")
    out.append(("XREADGROUP", ["XREADGROUP", "GROUP", "g", "c1", "BLOCK", 5000, "STREAMS", a, ">"],
                [["XGROUP", "CREATE", a, "g", "$", "MKSTREAM"]], [["XADD", a, "5-1", "f", "w"]],
                [[a.encode(), [[b"5-1", [b"f", b"w"]]]]]))
    return out


def test_blocking_commands_wake_up(cluster, gate):
    pusher = gate.client()
    with gate.raw() as setup:
        for case in _cases(cluster, 1):
            name, cmd, pre, pushes, expected = case[:5]
            for c in pre:
                assert not isinstance(setup.call(*c), RespError), (name, c)
            with gate.raw(timeout=15) as c:
                _send(c, *cmd)
                time.sleep(0.3)
                t0 = time.monotonic()
                for p in pushes:
                    pusher.execute_command(*p)
                got = c.read_reply()
                woke = time.monotonic() - t0
                assert got == expected, f"{name}: got {got!r}, expected {expected!r}"
                assert woke < 2.0, f"{name} woke {woke:.2f}s after the push"
                # The connection is a normal one again.
                assert c.call("PING") == b"PONG"
            if len(case) > 5:
                *args, want = case[5]
                assert setup.call(*args) == want, (name, args)
            log(f"{name} woke up {woke * 1000:.0f} ms after the push")


def test_blocking_commands_wake_up_redis_py(cluster, gate):
    r, other = gate.client(), gate.client()
    k = key_on(cluster, cluster.masters()[1], "pyblk:list")
    r.delete(k)
    timer = threading.Timer(0.3, lambda: other.rpush(k, "job1"))
    timer.start()
    try:
        assert r.blpop([k], timeout=5) == (k.encode(), b"job1")
    finally:
        timer.cancel()
    t0 = time.monotonic()
    assert r.blpop([k], timeout=1) is None
    assert 0.8 < time.monotonic() - t0 < 3.0
    assert r.brpoplpush(k, k + "2", timeout=1) is None


def test_blocking_commands_time_out(cluster, gate):
    cases = _cases(cluster, 2)
    with gate.raw() as setup:
        for case in cases:
            for c in case[2]:
                assert not isinstance(setup.call(*c), RespError), c
    results = {}

    def run(name, cmd):
        # Same command with a 0.5 s timeout (seconds, or ms for XREAD's BLOCK).
        cmd = list(cmd)
        if name.startswith("XREAD"):
            cmd[cmd.index("BLOCK") + 1] = 500
        elif name in ("BLMPOP", "BZMPOP"):
            cmd[1] = 0.5
        else:
            cmd[-1] = 0.5
        with gate.raw(timeout=15) as c:
            t0 = time.monotonic()
            got = c.call(*cmd)
            results[name] = (got, time.monotonic() - t0, c.call("PING"))

    ts = [threading.Thread(target=run, args=(case[0], case[1])) for case in cases]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=20)
    assert len(results) == len(cases), sorted(results)
    for name, (got, took, ping) in results.items():
        assert got is None, f"{name} timed out with {got!r}"
        assert 0.4 <= took < 3.0, f"{name} took {took:.2f}s for a 0.5 s timeout"
        assert ping == b"PONG", (name, ping)


def test_timeouts_longer_than_backend_timeout(cluster, gate):
    """A client's own timeout governs, not slotgate's backend timeout (5 s by default): a 6 s
    BLPOP times out at 6 s with nil, and a BLPOP 0 (forever) still gets a value pushed at 5.5 s."""
    k1 = key_on(cluster, cluster.masters()[0], "long:a")
    k2 = key_on(cluster, cluster.masters()[1], "long:b")
    for k in (k1, k2):
        gate.client().delete(k)
    results = {}

    def run(name, *cmd):
        with gate.raw(timeout=20) as c:
            t0 = time.monotonic()
            results[name] = (c.call(*cmd), time.monotonic() - t0)

    ts = [threading.Thread(target=run, args=("timeout", "BLPOP", k1, 6)),
          threading.Thread(target=run, args=("forever", "BLPOP", k2, 0))]
    for t in ts:
        t.start()
    time.sleep(5.5)
    gate.client().rpush(k2, "late")
    for t in ts:
        t.join(timeout=15)
    got, took = results["timeout"]
    assert got is None and 5.8 <= took < 8, f"BLPOP 6: {got!r} after {took:.2f}s"
    got, took = results["forever"]
    assert got == [k2.encode(), b"late"] and took >= 5.4, f"BLPOP 0: {got!r} after {took:.2f}s"


def test_commands_pipelined_behind_a_blocked_one(cluster, gate):
    """Commands a client sends after its BLPOP wait for it: replies stay in order."""
    k = key_on(cluster, cluster.masters()[2], "pipeblk:list")
    k2 = key_on(cluster, cluster.masters()[0], "pipeblk:str")
    gate.client().delete(k, k2)
    with gate.raw(timeout=10) as c:
        c.send(encode_command("BLPOP", k, 5) + encode_command("SET", k2, "after") +
               encode_command("GET", k2) + encode_command("LLEN", k))
        time.sleep(0.3)
        assert gate.client().get(k2) is None, "SET behind a blocked BLPOP ran before it"
        gate.client().rpush(k, "x", "y")
        assert [c.read_reply() for _ in range(4)] == [[k.encode(), b"x"], b"OK", b"after", 1]


def test_blocking_crossslot(cluster, gate):
    m = cluster.masters()
    a = key_on(cluster, m[0], "bx:a")
    b = key_on(cluster, m[1], "bx:b")
    c_ = key_on(cluster, m[0], "bx:c", index=5)  # same master as a, another slot
    assert key_slot(a) != key_slot(c_)
    with gate.raw(timeout=10) as c:
        st = a + ":stream"  # same slot as a
        c.call("XGROUP", "CREATE", st, "g", "$", "MKSTREAM")
        for other in (b, c_):
            for cmd in (["BLPOP", a, other, 1], ["BRPOP", a, other, 1],
                        ["BLMOVE", a, other, "LEFT", "LEFT", 1], ["BRPOPLPUSH", a, other, 1],
                        ["BLMPOP", 1, 2, a, other, "LEFT"], ["BZPOPMIN", a, other, 1],
                        ["BZPOPMAX", a, other, 1], ["BZMPOP", 1, 2, a, other, "MAX"],
                        ["XREAD", "BLOCK", 1000, "STREAMS", st, other, "$", "$"],
                        ["XREADGROUP", "GROUP", "g", "c", "BLOCK", 1000, "STREAMS", st, other, ">", ">"]):
                t0 = time.monotonic()
                got = c.call(*cmd)
                assert isinstance(got, RespError) and str(got) == CROSSSLOT, (cmd, got)
                assert time.monotonic() - t0 < 0.5, f"{cmd[0]} waited before its CROSSSLOT error"
        c.call("DEL", st)


def test_200_blocked_clients_do_not_delay_others(cluster, gate):
    n = 200
    keys = [skey((i * 16384) // n + 3, f"many:{i}") for i in range(n)]
    r = gate.client()
    for k in keys:
        r.delete(k)
    base = blocked_clients(cluster)
    conns = []
    try:
        for k in keys:
            c = gate.raw(timeout=20)
            conns.append(c)
            _send(c, "BLPOP", k, 8)
        # Each blocked client needs its own backend connection: the masters see 200 blocked.
        deadline = time.monotonic() + 6
        while blocked_clients(cluster) < base + n and time.monotonic() < deadline:
            time.sleep(0.05)
        seen = blocked_clients(cluster) - base
        assert seen >= n, f"only {seen} of {n} BLPOPs are blocked on the masters"
        # Meanwhile another client runs GET/SET round trips at full speed.
        t0 = time.monotonic()
        for i in range(500):
            assert r.set(f"fast:{i}", i) is True
            assert r.get(f"fast:{i}") == str(i).encode()
        took = time.monotonic() - t0
        log(f"1000 GET/SET round trips with {n} blocked clients: {took:.2f}s")
        assert took < 2.5, f"1000 round trips took {took:.2f}s while {n} clients were blocked"
        # Pipelined clients on other connections are not delayed either.
        pipe = r.pipeline(transaction=False)
        for i in range(2000):
            pipe.incr("fast:counter")
        t0 = time.monotonic()
        assert pipe.execute()[-1] >= 2000
        assert time.monotonic() - t0 < 2.5
        # Every blocked client gets its own key's value.
        for i, k in enumerate(keys):
            r.rpush(k, f"val{i}")
        for i, (k, c) in enumerate(zip(keys, conns)):
            got = c.read_reply()
            assert got == [k.encode(), f"val{i}".encode()], (k, got)
    finally:
        for c in conns:
            c.close()


def _blpop_conns(cluster, node):
    return [c for c in cluster.client(node).client_list() if c.get("cmd") == "blpop" and "b" in c.get("flags", "")]


def test_disconnect_while_blocked_releases_backend(cluster, gate):
    owner = cluster.masters()[2]
    k = key_on(cluster, owner, "gone:list")
    r = gate.client()
    r.delete(k)
    assert not _blpop_conns(cluster, owner)
    c = gate.raw()
    _send(c, "BLPOP", k, 30)
    found = []
    deadline = time.monotonic() + 5
    while not found and time.monotonic() < deadline:
        found = _blpop_conns(cluster, owner)
        time.sleep(0.05)
    assert len(found) == 1, f"blocked backend connection not seen on {owner}: {found}"
    backend_id = found[0]["id"]
    c.close()
    # The backend connection stops being blocked (closed, or unblocked and back in a pool).
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        still = [x for x in cluster.client(owner).client_list() if x["id"] == backend_id]
        if not still or "b" not in still[0]["flags"]:
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"backend connection {backend_id} still blocked 5 s after its client left")
    log(f"backend connection {backend_id} after its client left: "
        f"{'closed' if not still else 'kept, flags=' + still[0]['flags']}")
    assert blocked_clients(cluster, [owner]) == 0
    # Nobody takes a value pushed now.
    r.rpush(k, "keep")
    time.sleep(0.5)
    assert cluster.client(owner).lrange(k, 0, -1) == [b"keep"]


def test_wait_after_writes_in_three_slots(cluster, gate):
    keys = [key_on(cluster, m, "wait:k") for m in cluster.masters()]
    with gate.raw(timeout=10) as c:
        for k in keys:
            assert c.call("SET", k, "x" * 100) == b"OK"
        t0 = time.monotonic()
        assert c.call("WAIT", 1, 1000) == 1
        assert time.monotonic() - t0 < 0.9
        for k in keys:
            assert c.call("INCR", k + ":n") >= 1
        t0 = time.monotonic()
        got = c.call("WAIT", 2, 300)
        took = time.monotonic() - t0
        assert got == 1, got
        assert 0.25 <= took < 2.0, f"WAIT 2 300 took {took:.2f}s"
        # Argument errors are Redis's.
        got = c.call("WAIT", "x", 10)
        assert isinstance(got, RespError) and str(got) == "ERR value is not an integer or out of range", got


def test_wait_counts_only_masters_this_client_wrote_to(cluster, gate):
    """A replica that cannot acknowledge holds WAIT at 0 only for clients that wrote to its master."""
    ma, mb = cluster.masters()[0], cluster.masters()[1]
    rb = next(n for n in cluster.replicas() if n.master_id == mb.id)
    ka, kb = key_on(cluster, ma, "waitx:a"), key_on(cluster, mb, "waitx:b")
    os.kill(rb.proc.pid, signal.SIGSTOP)
    try:
        with gate.raw(timeout=10) as c:
            assert c.call("SET", ka, "1") == b"OK"
            t0 = time.monotonic()
            assert c.call("WAIT", 1, 800) == 1
            assert time.monotonic() - t0 < 0.7, "WAIT waited for a master this client did not write to"
            assert c.call("SET", kb, "1") == b"OK"
            assert c.call("SET", ka, "2") == b"OK"
            t0 = time.monotonic()
            got = c.call("WAIT", 1, 500)
            took = time.monotonic() - t0
            assert got == 0, f"WAIT reported {got} though {mb}'s replica is stopped"
            assert 0.4 <= took < 2.5, took
    finally:
        os.kill(rb.proc.pid, signal.SIGCONT)
    cluster.wait_stable(20)


def test_hung_node_fails_dedicated_commands_at_their_deadline(cluster, gate):
    """With a 300 ms backend timeout: a node that stops answering (SIGSTOP) fails a blocked
    client once its own timeout plus the backend timeout has passed, and an EXEC once the backend
    timeout has passed, with slotgate's error, while a BLPOP on a healthy node still waits its
    full second. The same clients work again when the node is back."""
    hung, healthy = cluster.masters()[0], cluster.masters()[1]
    k_list = key_on(cluster, hung, "hung:list")
    k_tx = key_on(cluster, hung, "hung:tx")
    k_ok = key_on(cluster, healthy, "hung:ok")
    config = "timeouts:\n  backend_ms: 300\n"
    with ConfiguredSlotgate(slotgate_binary(), cluster.seeds(), config) as g:
        g.client().delete(k_list, k_ok)
        results = {}

        def blpop(name, key, timeout):
            with g.raw(timeout=10) as c:
                t0 = time.monotonic()
                results[name] = (c.call("BLPOP", key, timeout), time.monotonic() - t0)

        def exec_():
            with g.raw(timeout=10) as c:
                assert c.call("MULTI") == b"OK"
                assert c.call("SET", k_tx, "x") == b"QUEUED"
                t0 = time.monotonic()
                results["exec"] = (c.call("EXEC"), time.monotonic() - t0)

        threads = [threading.Thread(target=blpop, args=("hung", k_list, 0.2)),
                   threading.Thread(target=blpop, args=("healthy", k_ok, 1)),
                   threading.Thread(target=exec_)]
        os.kill(hung.proc.pid, signal.SIGSTOP)
        try:
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=10)
        finally:
            os.kill(hung.proc.pid, signal.SIGCONT)
        got, took = results["hung"]
        assert isinstance(got, RespError) and f"node {hung.addr} did not answer within 500 ms" in str(got), got
        assert 0.45 <= took < 2.5, f"BLPOP 0.2 on a hung node failed after {took:.2f}s"
        got, took = results["exec"]
        assert isinstance(got, RespError) and f"node {hung.addr} did not answer within 300 ms" in str(got), got
        assert 0.25 <= took < 2.5, f"EXEC on a hung node failed after {took:.2f}s"
        got, took = results["healthy"]
        assert got is None and 0.95 <= took < 3.0, f"BLPOP 1 on a healthy node: {got!r} after {took:.2f}s"
        cluster.wait_stable(20)
        # The node is back: the same kinds of commands go through again.
        with g.raw(timeout=10) as c:
            assert c.call("RPUSH", k_list, "v") == 1
            assert c.call("BLPOP", k_list, 1) == [k_list.encode(), b"v"]
            assert c.call("MULTI") == b"OK"
            assert c.call("SET", k_tx, "y") == b"QUEUED"
            assert c.call("EXEC") == [b"OK"]


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, *sys.argv[1:]]))
