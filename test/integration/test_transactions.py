"""MULTI/EXEC/DISCARD and WATCH/UNWATCH through slotgate.

A transaction binds the client to the node owning the slot of its first keyed command; replies,
errors and aborts must be those of a standalone Redis (each sequence is also run against a
reference redis-server and compared), the effects must land on the slot's owner, and a slot that
moves in the middle must never surface as MOVED/ASK nor leave a transaction half applied.
"""

import sys
import threading
import time

import pytest
import redis

from reference import Pair
from cluster import RespError, key_slot, log
from state_helpers import is_redirect, key_on, move_slot, other_master, skey

CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot"
EXECABORT = "EXECABORT Transaction discarded because of previous errors."


def owner_get(cluster, key):
    return cluster.client(cluster.owner_of(key)).get(key)


def owner_type(cluster, key):
    return cluster.client(cluster.owner_of(key)).type(key)


# ----------------------------------------------------------------------------------------------
# Basic MULTI / EXEC / DISCARD
# ----------------------------------------------------------------------------------------------

def test_multi_exec_applies_on_owner(cluster, gate, reference):
    k, n, l = "{tx1}:str", "{tx1}:num", "{tx1}:list"
    with Pair(gate, reference) as p:
        for key in (k, n, l):
            p.both("DEL", key)
        assert p.same("MULTI") == b"OK"
        assert p.same("SET", k, "v1") == b"QUEUED"
        assert p.same("INCRBY", n, 5) == b"QUEUED"
        assert p.same("PING") == b"QUEUED"
        assert p.same("RPUSH", l, "a", "b") == b"QUEUED"
        assert p.same("GET", k) == b"QUEUED"
        assert p.same("ECHO", "hi") == b"QUEUED"
        got = p.same("EXEC")
        assert got == [b"OK", 5, b"PONG", 2, b"v1", b"hi"], got
        # Out of the transaction again: commands answer at once.
        assert p.same("GET", n) == b"5"
    assert owner_get(cluster, k) == b"v1"
    assert owner_get(cluster, n) == b"5"
    assert cluster.client(cluster.owner_of(l)).lrange(l, 0, -1) == [b"a", b"b"]


def test_multi_on_every_master(cluster, gate):
    """A transaction per master, one after another on the same client connection."""
    with gate.raw() as c:
        for i, m in enumerate(cluster.masters()):
            k = key_on(cluster, m, f"txm{i}", index=7)
            k2 = k + ":2"
            assert c.call("MULTI") == b"OK"
            assert c.call("SET", k, f"m{i}") == b"QUEUED"
            assert c.call("SET", k2, f"n{i}") == b"QUEUED"
            assert c.call("EXEC") == [b"OK", b"OK"]
            assert cluster.client(m).get(k) == f"m{i}".encode()
            assert cluster.client(m).get(k2) == f"n{i}".encode()


def test_multi_keyless_only(cluster, gate, reference):
    with Pair(gate, reference) as p:
        assert p.same("MULTI") == b"OK"
        assert p.same("PING") == b"QUEUED"
        assert p.same("ECHO", "x") == b"QUEUED"
        assert p.g.call("TIME") == b"QUEUED" and p.r.call("TIME") == b"QUEUED"
        g = p.g.call("EXEC")
        r = p.r.call("EXEC")
        assert len(g) == len(r) == 3, (g, r)
        assert g[:2] == r[:2] == [b"PONG", b"x"]
        assert isinstance(g[2], list) and len(g[2]) == 2 and int(g[2][0]) > 1_600_000_000, g
        # An empty transaction.
        assert p.same("MULTI") == b"OK"
        assert p.same("EXEC") == []


def test_discard(cluster, gate, reference):
    k = "{txd}:k"
    with Pair(gate, reference) as p:
        p.both("DEL", k)
        assert p.same("MULTI") == b"OK"
        assert p.same("SET", k, "never") == b"QUEUED"
        assert p.same("INCR", k + "n") == b"QUEUED"
        assert p.same("DISCARD") == b"OK"
        assert p.same("GET", k) is None
        assert p.same("EXEC") == ("error", "ERR EXEC without MULTI")
        assert p.same("DISCARD") == ("error", "ERR DISCARD without MULTI")
    assert owner_get(cluster, k) is None
    assert owner_get(cluster, k + "n") is None


def test_multi_errors_like_redis(cluster, gate, reference):
    k = "{txe}:k"
    with Pair(gate, reference) as p:
        p.both("DEL", k)
        assert p.same("EXEC") == ("error", "ERR EXEC without MULTI")
        # Nested MULTI: an error, the transaction goes on.
        assert p.same("MULTI") == b"OK"
        assert p.same("MULTI") == ("error", "ERR MULTI calls can not be nested")
        assert p.same("SET", k, "1") == b"QUEUED"
        assert p.same("EXEC") == [b"OK"]
        # Unknown command inside MULTI: that error, then EXECABORT, nothing applied.
        assert p.same("MULTI") == b"OK"
        assert p.same("SET", k, "2") == b"QUEUED"
        err = p.same("NOSUCHCMD", "a")
        assert err[0] == "error" and err[1].startswith("ERR unknown command"), err
        assert p.same("EXEC") == ("error", EXECABORT)
        assert p.same("GET", k) == b"1"
        # Wrong arity inside MULTI.
        assert p.same("MULTI") == b"OK"
        assert p.same("SET", k, "3") == b"QUEUED"
        assert p.same("GET") == ("error", "ERR wrong number of arguments for 'get' command")
        assert p.same("EXEC") == ("error", EXECABORT)
        assert p.same("GET", k) == b"1"
        # A runtime error (wrong type) does not abort: the other commands run.
        assert p.same("MULTI") == b"OK"
        assert p.same("SET", k, "4") == b"QUEUED"
        assert p.same("LPUSH", k, "x") == b"QUEUED"
        got = p.same("EXEC")
        assert got[0] == b"OK" and got[1][0] == "error" and got[1][1].startswith("WRONGTYPE"), got
        # WATCH inside MULTI is an error too.
        assert p.same("MULTI") == b"OK"
        assert p.same("WATCH", k) == ("error", "ERR WATCH inside MULTI is not allowed")
        assert p.same("DISCARD") == b"OK"
    assert owner_get(cluster, k) == b"4"


def test_blocking_command_inside_multi_does_not_block(cluster, gate, reference):
    with Pair(gate, reference) as p:
        p.both("DEL", "{txb}l")
        assert p.same("MULTI") == b"OK"
        assert p.same("BLPOP", "{txb}l", 5) == b"QUEUED"
        assert p.same("RPUSH", "{txb}l", "a") == b"QUEUED"
        assert p.same("BLPOP", "{txb}l", 5) == b"QUEUED"
        t0 = time.monotonic()
        assert p.same("EXEC") == [None, 1, [b"{txb}l", b"a"]]
        assert time.monotonic() - t0 < 1.0


def test_crossslot_inside_multi_aborts(cluster, gate):
    owners = cluster.slot_owners()
    a = key_on(cluster, cluster.masters()[0], "txc:a")
    b = key_on(cluster, cluster.masters()[1], "txc:b")
    same_node = key_on(cluster, cluster.masters()[0], "txc:c", index=3)  # other slot, same node
    assert owners[key_slot(a)] is owners[key_slot(same_node)] and key_slot(a) != key_slot(same_node)
    r = gate.client()
    r.delete(a, b, same_node)
    with gate.raw() as c:
        for other in (b, same_node):
            assert c.call("MULTI") == b"OK"
            assert c.call("SET", a, "1") == b"QUEUED"
            err = c.call("SET", other, "2")
            assert isinstance(err, RespError) and str(err) == CROSSSLOT, err
            assert c.call("INCR", a + "x") == b"QUEUED"  # same hashtag as a: still queued
            got = c.call("EXEC")
            assert isinstance(got, RespError) and str(got) == EXECABORT, got
            assert c.call("GET", a) is None and c.call("GET", other) is None
        # A multi-key command over two slots inside MULTI.
        assert c.call("MULTI") == b"OK"
        err = c.call("MSET", a, "1", b, "2")
        assert isinstance(err, RespError) and str(err) == CROSSSLOT, err
        got = c.call("EXEC")
        assert isinstance(got, RespError) and str(got) == EXECABORT, got
    for key in (a, b, same_node, a + "x"):
        assert owner_get(cluster, key) is None, key


def test_every_node_and_unsupported_commands_abort_multi(cluster, gate):
    """A transaction runs on one node: FLUSHALL, DBSIZE, KEYS, SCAN, SCRIPT LOAD would run there
    only and act on or answer for part of the data, and an unsupported command (CLUSTER SETSLOT)
    would reach a node. Each is a queue-time error, so EXEC answers EXECABORT and nothing runs."""
    keys = [key_on(cluster, m, "txe:k") for m in cluster.masters()]
    r = gate.client()
    for k in keys:
        r.set(k, "kept")
    before = r.dbsize()
    with gate.raw() as c:
        for cmd, name in ((["FLUSHALL"], "flushall"), (["DBSIZE"], "dbsize"), (["KEYS", "*"], "keys"),
                          (["SCAN", "0"], "scan"), (["SCRIPT", "LOAD", "return 1"], "script load")):
            assert c.call("MULTI") == b"OK"
            assert c.call("SET", keys[0], "changed") == b"QUEUED"
            err = c.call(*cmd)
            assert isinstance(err, RespError) and str(err) == (
                f"ERR slotgate cannot queue '{name}' in MULTI: it runs on every node, a transaction on one"), err
            got = c.call("EXEC")
            assert isinstance(got, RespError) and str(got) == EXECABORT, (cmd, got)
        assert c.call("MULTI") == b"OK"
        err = c.call("CLUSTER", "SETSLOT", 0, "STABLE")
        assert isinstance(err, RespError) and str(err) == "ERR command 'cluster setslot' is not supported by slotgate", err
        got = c.call("EXEC")
        assert isinstance(got, RespError) and str(got) == EXECABORT, got
        # Keyless commands whose answer is the same on any node still run in a transaction.
        assert c.call("MULTI") == b"OK"
        assert c.call("ECHO", "hi") == b"QUEUED"
        assert c.call("EXEC") == [b"hi"]
    for k in keys:
        assert owner_get(cluster, k) == b"kept", k
    assert r.dbsize() == before


# ----------------------------------------------------------------------------------------------
# WATCH
# ----------------------------------------------------------------------------------------------

def test_watch_conflict_aborts(cluster, gate):
    k = key_on(cluster, cluster.masters()[1], "txw:k")
    other = gate.client()
    other.set(k, "before")
    for changer in ("gate", "direct"):
        with gate.raw() as c:
            assert c.call("WATCH", k) == b"OK"
            if changer == "gate":
                other.set(k, "changed-by-gate")
            else:
                cluster.client(cluster.owner_of(k)).set(k, "changed-directly")
            assert c.call("MULTI") == b"OK"
            assert c.call("SET", k, "from-tx") == b"QUEUED"
            assert c.call("EXEC") is None  # null array: the transaction did not run
            assert c.call("GET", k) == (b"changed-by-gate" if changer == "gate" else b"changed-directly")
    assert owner_get(cluster, k) == b"changed-directly"


def test_resp3_transaction_replies_like_redis(cluster, gate, reference):
    """After HELLO 3: EXEC's array carries RESP3 replies, a WATCH abort is RESP3's null."""
    from state_helpers import call3
    k = "{tx3}:k"
    g, r = gate.raw(), reference.raw()
    try:
        for c in (g, r):
            call3(c, "HELLO", 3)

        def same(*args):
            (_, graw), (_, rraw) = call3(g, *args), call3(r, *args)
            assert graw == rraw, f"{args}:\n  slotgate: {graw!r}\n  redis:    {rraw!r}"
            return graw

        same("DEL", k, "{tx3}:h", "{tx3}:z")
        same("HSET", "{tx3}:h", "a", "1")
        same("ZADD", "{tx3}:z", 1.5, "m")
        same("MULTI")
        same("HGETALL", "{tx3}:h")
        same("ZSCORE", "{tx3}:z", "m")
        same("GET", k)
        same("SET", k, "v")
        assert same("EXEC").startswith(b"*4\r\n%1\r\n")
        same("WATCH", k)
        gate.client().set(k, "other")
        reference.client().set(k, "other")
        same("MULTI")
        same("SET", k, "tx")
        assert same("EXEC") == b"_\r\n"
        assert same("GET", k) == b"$5\r\nother\r\n"
    finally:
        g.close()
        r.close()


def test_watch_unchanged_applies_and_unwatch(cluster, gate):
    k = key_on(cluster, cluster.masters()[2], "txu:k")
    other = gate.client()
    other.set(k, "0")
    with gate.raw() as c:
        assert c.call("WATCH", k) == b"OK"
        assert c.call("GET", k) == b"0"
        assert c.call("MULTI") == b"OK"
        assert c.call("SET", k, "1") == b"QUEUED"
        assert c.call("EXEC") == [b"OK"]
        # EXEC cleared the watch: a change now does not affect the next transaction.
        other.set(k, "2")
        assert c.call("MULTI") == b"OK"
        assert c.call("INCR", k) == b"QUEUED"
        assert c.call("EXEC") == [3]
        # UNWATCH forgets the watched key.
        assert c.call("WATCH", k) == b"OK"
        assert c.call("UNWATCH") == b"OK"
        other.set(k, "10")
        assert c.call("MULTI") == b"OK"
        assert c.call("INCR", k) == b"QUEUED"
        assert c.call("EXEC") == [11]
        # DISCARD also unwatches.
        assert c.call("WATCH", k) == b"OK"
        assert c.call("MULTI") == b"OK"
        assert c.call("DISCARD") == b"OK"
        other.set(k, "20")
        assert c.call("MULTI") == b"OK"
        assert c.call("INCR", k) == b"QUEUED"
        assert c.call("EXEC") == [21]
    assert owner_get(cluster, k) == b"21"


def test_watch_keys_in_two_slots(cluster, gate):
    """WATCH over two slots is Redis Cluster's CROSSSLOT; one slot with a hashtag works."""
    a = key_on(cluster, cluster.masters()[0], "txw2:a")
    b = key_on(cluster, cluster.masters()[1], "txw2:b")
    with gate.raw() as c:
        got = c.call("WATCH", a, b)
        assert isinstance(got, RespError) and str(got) == CROSSSLOT, got
        assert c.call("WATCH", "{w2}a", "{w2}b") == b"OK"
        assert c.call("MULTI") == b"OK"
        assert c.call("SET", "{w2}a", "x") == b"QUEUED"
        assert c.call("EXEC") == [b"OK"]
        # WATCH binds the transaction to a's node: a queued command for another node aborts it.
        c.call("DEL", b)
        assert c.call("WATCH", a) == b"OK"
        assert c.call("MULTI") == b"OK"
        got = c.call("SET", b, "1")
        assert not is_redirect(got) and (got == b"QUEUED" or str(got) == CROSSSLOT), got
        got = c.call("EXEC")
        assert isinstance(got, RespError) and str(got) == EXECABORT, got
        assert c.call("GET", b) is None


def test_redis_py_pipeline_transaction(cluster, gate):
    r = gate.client()
    r.delete("{pyt}:a", "{pyt}:n", "{pyt}:h")
    pipe = r.pipeline(transaction=True)
    pipe.set("{pyt}:a", "1").incrby("{pyt}:n", 7).hset("{pyt}:h", "f", "v").get("{pyt}:a").ping()
    assert pipe.execute() == [True, 7, 1, b"1", True]
    assert owner_get(cluster, "{pyt}:n") == b"7"
    # An error inside the pipelined MULTI surfaces as redis-py raises it.
    pipe = r.pipeline(transaction=True)
    pipe.set("{pyt}:a", "2").lpush("{pyt}:a", "x")
    try:
        pipe.execute()
        raise AssertionError("expected a WRONGTYPE error")
    except redis.ResponseError as e:
        assert "WRONGTYPE" in str(e), e
    assert owner_get(cluster, "{pyt}:a") == b"2"


def test_redis_py_transaction_with_watch_concurrent(cluster, gate):
    """r.transaction(fn, key): WATCH/GET/MULTI/SET retried on conflict by redis-py. Concurrent
    incrementers must not lose an update: that only holds if WATCH really guards EXEC."""
    key = key_on(cluster, cluster.masters()[0], "pytw:counter")
    gate.client().set(key, 0)
    threads, per_thread, errors = 4, 40, []

    def work():
        r = gate.client()
        try:
            for _ in range(per_thread):
                def incr(pipe):
                    v = int(pipe.get(key))
                    time.sleep(0.001)  # widen the window for conflicts
                    pipe.multi()
                    pipe.set(key, v + 1)
                r.transaction(incr, key)
        except Exception as e:  # recorded, asserted below
            errors.append(repr(e))

    ts = [threading.Thread(target=work) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in ts), "transaction threads hung"
    assert not errors, errors[:5]
    assert int(gate.client().get(key)) == threads * per_thread
    assert owner_get(cluster, key) == str(threads * per_thread).encode()


def test_redis_py_watch_pipeline_conflict(cluster, gate):
    r, other = gate.client(), gate.client()
    key = key_on(cluster, cluster.masters()[2], "pyw:k")
    r.set(key, "a")
    with r.pipeline() as pipe:
        pipe.watch(key)
        assert pipe.get(key) == b"a"
        other.set(key, "b")
        pipe.multi()
        pipe.set(key, "c")
        try:
            pipe.execute()
            raise AssertionError("expected WatchError")
        except redis.WatchError:
            pass
    assert r.get(key) == b"b"


def test_client_leaving_mid_transaction_leaves_nothing_behind(cluster, gate):
    """A client that disconnects inside MULTI: nothing it queued is applied, and no later client
    inherits its transaction or its WATCH."""
    m = cluster.masters()[0]
    k = key_on(cluster, m, "txleave:k", index=9)
    gate.client().delete(k)
    c = gate.raw()
    assert c.call("MULTI") == b"OK"
    assert c.call("SET", k, "queued-then-left") == b"QUEUED"
    c.close()
    w = gate.raw()
    assert w.call("WATCH", k) == b"OK"
    w.close()
    time.sleep(0.5)
    assert cluster.client(m).get(k) is None
    conns = [gate.raw() for _ in range(20)]
    try:
        for i, c in enumerate(conns):
            assert c.call("SET", k + f":{i}", i) == b"OK", "a later client was still inside MULTI"
            assert c.call("MULTI") == b"OK"
            assert c.call("INCR", k) == b"QUEUED"
            assert c.call("EXEC") == [i + 1], "a later client inherited a WATCH"
    finally:
        for c in conns:
            c.close()
    assert cluster.client(m).get(k) == b"20"


# ----------------------------------------------------------------------------------------------
# Slot moving under a transaction
# ----------------------------------------------------------------------------------------------

def _check_no_redirect(replies):
    for x in replies:
        assert not is_redirect(x), f"client saw a redirect: {x}"
        if isinstance(x, list):
            _check_no_redirect(x)


def test_watch_then_slot_moved(cluster, gate):
    src = cluster.masters()[0]
    slot = cluster.slots_of(src)[50]
    k, k2 = skey(slot, "mv:k"), skey(slot, "mv:k2")
    gate.client().set(k, "orig")
    dst = other_master(cluster, src)
    with gate.raw() as c:
        replies = [c.call("WATCH", k), c.call("GET", k)]
        assert replies == [b"OK", b"orig"], replies
        move_slot(cluster, slot, dst)
        log(f"slot {slot} moved {src.port} -> {dst.port} between WATCH and EXEC")
        replies += [c.call("MULTI"), c.call("SET", k, "tx"), c.call("SET", k2, "tx2")]
        ex = c.call("EXEC")
        replies.append(ex)
        _check_no_redirect(replies)
        assert ex is None or (isinstance(ex, RespError) and str(ex).startswith("EXECABORT")), \
            f"EXEC after the watched slot moved: {ex!r} (all replies {replies})"
        # The connection is usable afterwards and out of MULTI.
        assert c.call("GET", k) == b"orig"
        assert c.call("PING") == b"PONG"
    assert cluster.client(dst).get(k) == b"orig"
    assert cluster.client(dst).get(k2) is None
    assert cluster.client(src).execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == 0


def test_multi_slot_moved_before_exec(cluster, gate):
    """Without WATCH: the transaction runs on the new owner, or fails as a whole; no redirect."""
    src = cluster.masters()[1]
    slot = cluster.slots_of(src)[60]
    k, k2 = skey(slot, "mv2:k"), skey(slot, "mv2:k2")
    gate.client().set(k, "orig")
    dst = other_master(cluster, src)
    with gate.raw() as c:
        replies = [c.call("MULTI"), c.call("SET", k, "tx"), c.call("SET", k2, "tx2")]
        move_slot(cluster, slot, dst)
        ex = c.call("EXEC")
        replies.append(ex)
        _check_no_redirect(replies)
        log(f"EXEC after slot {slot} moved: {ex!r}")
        if isinstance(ex, list):
            assert ex == [b"OK", b"OK"], ex
            assert cluster.client(dst).get(k) == b"tx" and cluster.client(dst).get(k2) == b"tx2"
        else:
            assert isinstance(ex, RespError), ex
            assert cluster.client(dst).get(k) == b"orig" and cluster.client(dst).get(k2) is None
        assert c.call("GET", k) in (b"tx", b"orig") and c.call("PING") == b"PONG"


def test_multi_first_keyed_command_after_move(cluster, gate):
    """MULTI opened, slot moved, then the first keyed command: binds to the new owner."""
    src = cluster.masters()[2]
    slot = cluster.slots_of(src)[70]
    k = skey(slot, "mv3:k")
    dst = other_master(cluster, src)
    with gate.raw() as c:
        replies = [c.call("GET", k), c.call("MULTI")]
        move_slot(cluster, slot, dst)
        replies += [c.call("SET", k, "v"), c.call("INCR", k + "n")]  # same hashtag: one slot
        ex = c.call("EXEC")
        replies.append(ex)
        _check_no_redirect(replies)
        assert replies[1:] == [b"OK", b"QUEUED", b"QUEUED", [b"OK", 1]], replies
    assert cluster.client(dst).get(k) == b"v"
    assert cluster.client(dst).get(k + "n") == b"1"


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, *sys.argv[1:]]))
