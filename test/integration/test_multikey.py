"""Multi-key commands through slotgate, compared with a standalone Redis.

slotgate splits MGET, MSET, DEL, UNLINK, EXISTS and TOUCH by slot (never by node), pipelines the
parts and merges the replies so the client sees what one standalone Redis would answer. Every
sequence here runs against slotgate (in front of a 3+3 cluster) and against one reference
redis-server started in standalone mode by this file; the replies must be identical, error texts
included. Commands that cannot be split keep Redis's own CROSSSLOT error over two slots and work
when hashtags put their keys in one slot.
"""

import re
import sys

import pytest
import redis

from reference import Pair, norm, show_command
from cluster import RespError, key_slot, tag_for_slot

CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot"



# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------

def skey(slot, name):
    """A key in `slot` (by hashtag)."""
    return f"{{{tag_for_slot(slot)}}}:{name}"


def spread_slots(n, offset=0):
    """n distinct slots spread over the whole range."""
    step = 16384 // n
    slots = [(i * step + offset) % 16384 for i in range(n)]
    assert len(set(slots)) == n
    return slots


def masters_of(cluster, keys):
    owners = cluster.slot_owners()
    return {owners[key_slot(k)].port for k in keys}


def assert_all_masters(cluster, keys):
    used = masters_of(cluster, keys)
    assert used == {m.port for m in cluster.masters()}, f"keys cover only {sorted(used)}"


def fresh(p, keys):
    """Deletes keys on both sides, one by one (no reliance on split DEL for setup)."""
    for k in keys:
        p.both("DEL", k)


# ----------------------------------------------------------------------------------------------
# Split commands
# ----------------------------------------------------------------------------------------------

def test_mget_100_slots_some_missing(cluster, gate, reference):
    slots = spread_slots(100, 11)
    keys = [skey(s, "mget") for s in slots]
    assert len({key_slot(k) for k in keys}) == 100
    assert_all_masters(cluster, keys)
    with Pair(gate, reference) as p:
        fresh(p, keys)
        for i, k in enumerate(keys):
            if i % 3 != 1:  # a third missing
                p.both("SET", k, f"value-{i}")
        got = p.same("MGET", *keys)
        assert len(got) == 100
        assert got[0] == b"value-0" and got[1] is None and got[99] == b"value-99", got[:3]
        # Reversed order, duplicates, a key of another type (nil, like Redis), plain keys.
        p.both("DEL", "mget:list")
        p.both("RPUSH", "mget:list", "x")
        mixed = keys[::-1] + keys[:10] + ["mget:list", "mget:never", keys[5], keys[5]]
        p.same("MGET", *mixed)
        # One key, and all keys in one slot (no split needed).
        p.same("MGET", keys[0])
        p.same("MGET", "{same}a", "{same}b", "{same}a")


def test_mget_many_keys_and_binary(cluster, gate, reference):
    keys = [f"big:{i}" for i in range(3000)]
    binary = [b"bin:\r\n" + bytes([i]) + b"\x00*1\r\n$" for i in range(0, 256, 5)]
    with Pair(gate, reference) as p:
        fresh(p, keys[:50] + binary)
        for chunk in range(0, 3000, 500):
            args = []
            for i in range(chunk, chunk + 500):
                if i % 4:
                    args += [keys[i], f"v{i}" * (i % 7)]
            p.same("MSET", *args)
        args = []
        for i, k in enumerate(binary):
            args += [k, bytes([i]) * i + b"\r\n"]
        p.same("MSET", *args)
        got = p.same("MGET", *(keys + binary + keys[::7]))
        assert len(got) == 3000 + len(binary) + len(keys[::7])


def test_every_slot_in_one_command(cluster, gate, reference):
    """16384 parts: MSET, MGET, EXISTS (keys twice), DEL over every slot."""
    keys = [skey(s, "all") for s in range(16384)]
    args = []
    for i, k in enumerate(keys):
        args += [k, str(i)]
    with Pair(gate, reference) as p:
        assert p.same("MSET", *args) == b"OK"
        got = p.same("MGET", *keys[::-1])
        assert got[0] == b"16383" and got[-1] == b"0"
        assert p.same("EXISTS", *keys, *keys) == 32768
        assert p.same("DEL", *keys) == 16384
        assert p.same("EXISTS", *keys) == 0


def test_mset_then_get_on_owner(cluster, gate, reference):
    slots = spread_slots(200, 3)
    keys = [skey(s, "mset") for s in slots] + [f"mset:plain:{i}" for i in range(100)]
    keys += [f"{{msettag}}:{i}" for i in range(10)]
    assert_all_masters(cluster, keys)
    owners = cluster.slot_owners()
    with Pair(gate, reference) as p:
        args = []
        for i, k in enumerate(keys):
            args += [k, f"mset-{i}"]
        assert p.same("MSET", *args) == b"OK"
        for i, k in enumerate(keys):
            v = cluster.client(owners[key_slot(k)]).get(k)
            assert v == f"mset-{i}".encode(), f"{k}: owner {owners[key_slot(k)]} has {v!r}"
        # A key given twice: the last value wins, as in Redis.
        p.same("MSET", keys[0], "first", keys[1], "x", keys[0], "last")
        p.same("GET", keys[0])
        assert cluster.client(owners[key_slot(keys[0])]).get(keys[0]) == b"last"
        p.same("MGET", *keys)


def test_del_exists_with_duplicates(cluster, gate, reference):
    slots = spread_slots(40, 5)
    keys = [skey(s, "del") for s in slots]
    assert_all_masters(cluster, keys)
    owners = cluster.slot_owners()
    with Pair(gate, reference) as p:
        fresh(p, keys)
        for k in keys[:30]:
            p.both("SET", k, "1")
        # EXISTS counts a key once per time it is given.
        assert p.same("EXISTS", *keys) == 30
        assert p.same("EXISTS", keys[0], keys[0], keys[0], keys[35], keys[1]) == 4
        assert p.same("EXISTS", *(keys + keys)) == 60
        assert p.same("EXISTS", "del:missing", "del:missing2") == 0
        # DEL of a key given twice removes it once.
        assert p.same("DEL", keys[0], keys[0], keys[1], keys[35], keys[1]) == 2
        for k in keys[:2]:
            assert cluster.client(owners[key_slot(k)]).exists(k) == 0, k
        assert p.same("DEL", *(keys + keys[::-1])) == 28
        for k in keys:
            assert cluster.client(owners[key_slot(k)]).exists(k) == 0, k
        assert p.same("EXISTS", *keys) == 0
        assert p.same("DEL", *keys) == 0


def test_touch_and_unlink(cluster, gate, reference):
    slots = spread_slots(30, 17)
    keys = [skey(s, "tu") for s in slots]
    assert_all_masters(cluster, keys)
    owners = cluster.slot_owners()
    with Pair(gate, reference) as p:
        fresh(p, keys)
        for k in keys[:20]:
            p.both("SET", k, "v")
        assert p.same("TOUCH", *keys) == 20
        assert p.same("TOUCH", keys[0], keys[0], keys[25], keys[3]) == 3
        assert p.same("TOUCH", "tu:none") == 0
        assert p.same("UNLINK", keys[0], keys[0], keys[2], keys[25]) == 2
        assert p.same("UNLINK", *keys) == 18
        for k in keys:
            assert cluster.client(owners[key_slot(k)]).exists(k) == 0, k
        assert p.same("UNLINK", *keys) == 0


def test_hashtag_groups(cluster, gate, reference):
    """Several hashtags, several keys each: parts with more than one key each."""
    tags = [tag_for_slot(s) for s in spread_slots(12, 101)]
    keys = [f"{{{t}}}:{j}" for t in tags for j in range(5)]
    interleaved = [keys[j * 5 + i] for i in range(5) for j in range(12)]
    with Pair(gate, reference) as p:
        fresh(p, keys)
        args = []
        for i, k in enumerate(interleaved):
            args += [k, str(i)]
        p.same("MSET", *args)
        p.same("MGET", *interleaved)
        p.same("MGET", *keys)
        p.same("EXISTS", *interleaved, *keys[:7])
        p.same("TOUCH", *interleaved)
        p.same("DEL", *interleaved[::2])
        p.same("MGET", *keys)
        p.same("UNLINK", *keys)
        p.same("EXISTS", *keys)


def test_arity_and_syntax_errors(cluster, gate, reference):
    with Pair(gate, reference) as p:
        for cmd in (["MGET"], ["MSET"], ["MSET", "a"], ["MSET", "a", "1", "b"],
                    ["MSET", "a", "1", "{x}b", "2", "c"], ["DEL"], ["UNLINK"], ["EXISTS"],
                    ["TOUCH"], ["mset", "k"], ["MsEt", "a", "b", "c"]):
            got = p.same(*cmd)
            assert isinstance(got, tuple) and got[0] == "error", (cmd, got)
        # Nothing was written by the failing MSETs.
        p.same("EXISTS", "a", "{x}b", "c")


def test_pipelined_split_commands(cluster, gate, reference):
    keys = [skey(s, "pipe") for s in spread_slots(64, 29)]
    with Pair(gate, reference) as p:
        fresh(p, keys)
        commands = []
        for i in range(150):
            a, b, c = keys[i % 64], keys[(i * 7) % 64], keys[(i * 13 + 5) % 64]
            commands += [["MSET", a, f"x{i}", b, f"y{i}"], ["MGET", a, b, c], ["EXISTS", a, b, c, a],
                         ["GET", c], ["DEL", c, b], ["TOUCH", a, c], ["INCR", f"pipe:n{i % 3}"]]
        commands += [["MGET", *keys], ["DEL", *keys], ["DEL", "pipe:n0", "pipe:n1", "pipe:n2"]]
        p.same_pipeline(commands)


def test_part_failure_names_the_part(cluster, gate, reference):
    owners = cluster.slot_owners()
    victim = cluster.masters()[1]
    vc = cluster.client(victim)
    slots = spread_slots(30, 41)
    keys = [skey(s, "oom") for s in slots]
    assert_all_masters(cluster, keys)
    victim_keys = [k for k in keys if owners[key_slot(k)] is victim]
    healthy = [k for k in keys if owners[key_slot(k)] is not victim]
    old = vc.config_get("maxmemory-policy")["maxmemory-policy"]
    r = gate.raw()
    try:
        vc.config_set("maxmemory-policy", "noeviction")
        vc.config_set("maxmemory", 1)
        try:
            vc.set(victim_keys[0], "x")
            raise AssertionError("the victim accepted a write with maxmemory 1")
        except redis.ResponseError as e:
            direct = str(e)
        assert direct.startswith("OOM"), direct
        args = []
        for i, k in enumerate(keys):
            args += [k, f"oom-{i}"]
        reply = r.call("MSET", *args)
        assert isinstance(reply, RespError), f"MSET with one primary out of memory returned {reply!r}"
        text = str(reply)
        m = re.fullmatch(r"(.*) \(slotgate: part (\d+) of (\d+) failed: keys in slot (\d+)\)", text)
        assert m, f"error does not name the failed part: {text!r}"
        node_text, i, n, s = m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4))
        assert node_text == direct, f"node's error text {node_text!r} != what the node says {direct!r}"
        assert n == len(slots), (n, len(slots))
        assert owners[s] is victim, f"slot {s} named in {text!r} is not on the failing node {victim}"
        assert slots[i - 1] == s, f"part {i} is slot {slots[i - 1]} (order of first key), error says {s}"
        # The parts on the healthy primaries were applied (MSET is split, not atomic).
        for k in healthy:
            idx = keys.index(k)
            assert cluster.client(owners[key_slot(k)]).get(k) == f"oom-{idx}".encode(), k
        # Reads still work; an MSET that touches only healthy primaries succeeds.
        got = r.call("MGET", *keys)
        assert isinstance(got, list) and len(got) == len(keys), got
        args = []
        for k in healthy:
            args += [k, "ok"]
        assert r.call("MSET", *args) == b"OK"
        # A single part failing among two-key groups: the error still names one slot of the victim.
        reply = r.call("MSET", victim_keys[0], "a", healthy[0], "b", victim_keys[-1], "c")
        assert isinstance(reply, RespError), reply
        m = re.fullmatch(r"OOM.* \(slotgate: part (\d+) of 3 failed: keys in slot (\d+)\)", str(reply))
        assert m, str(reply)
        assert int(m.group(2)) in (key_slot(victim_keys[0]), key_slot(victim_keys[-1])), str(reply)
    finally:
        vc.config_set("maxmemory", 0)
        vc.config_set("maxmemory-policy", old)
        r.close()
    with Pair(gate, reference) as p:
        args = []
        for k in keys:
            args += [k, "after"]
        assert p.g.call("MSET", *args) == b"OK"
        assert p.g.call("DEL", *keys) == len(keys)


# ----------------------------------------------------------------------------------------------
# Commands that stay in one slot
# ----------------------------------------------------------------------------------------------

def _crossslot_commands(a, b, c):
    """Commands over keys a, b (and destination c): every one multi-key and not splittable."""
    return [
        ["MSETNX", a, "1", b, "2"],
        ["RENAME", a, b],
        ["RENAMENX", a, b],
        ["SMOVE", a, b, "m"],
        ["LMOVE", a, b, "LEFT", "RIGHT"],
        ["RPOPLPUSH", a, b],
        ["SINTERSTORE", c, a, b],
        ["SUNIONSTORE", c, a, b],
        ["SDIFFSTORE", c, a, b],
        ["ZUNIONSTORE", c, "2", a, b],
        ["ZINTERSTORE", c, "2", a, b],
        ["ZDIFFSTORE", c, "2", a, b],
        ["ZRANGESTORE", c, a, "0", "-1"],
        ["GEOSEARCHSTORE", c, a, "FROMLONLAT", "0", "0", "BYRADIUS", "10", "km"],
        ["SINTERCARD", "2", a, b],
        ["ZINTERCARD", "2", a, b],
        ["ZUNION", "2", a, b],
        ["ZINTER", "2", a, b],
        ["ZDIFF", "2", a, b],
        ["SUNION", a, b],
        ["SINTER", a, b],
        ["SDIFF", a, b],
        ["PFCOUNT", a, b],
        ["PFMERGE", c, a, b],
        ["BITOP", "AND", c, a, b],
        ["COPY", a, b],
        ["EVAL", "return 1", "2", a, b],
        ["EVAL_RO", "return 1", "2", a, b],
        ["LMPOP", "2", a, b, "LEFT"],
        ["ZMPOP", "2", a, b, "MIN"],
    ]


def test_crossslot_over_two_slots(cluster, gate):
    a, b = "cross:{aaa}", "cross:{bbb}"
    assert key_slot(a) != key_slot(b)
    c = "cross:{ccc}"
    # Also two slots that live on the same node: still CROSSSLOT (split by slot, not by node).
    owners = cluster.slot_owners()
    m0 = cluster.masters()[0]
    same_node = [s for s in range(16384) if owners[s] is m0][:2]
    a2, b2 = skey(same_node[0], "x"), skey(same_node[1], "y")
    with gate.raw() as r:
        for (x, y, z) in ((a, b, c), (a2, b2, b2), (a, b, b)):
            for cmd in _crossslot_commands(x, y, z):
                got = norm(r.call(*cmd))
                assert got == ("error", CROSSSLOT), f"{show_command(cmd)}: {got!r}"
        # Nothing was created by the rejected commands.
        for k in (a, b, c, a2, b2):
            assert norm(r.call("EXISTS", k)) == 0, k


def test_same_slot_with_hashtags_matches_redis(cluster, gate, reference):
    t = "{samehash}"
    a, b, c, d = f"{t}a", f"{t}b", f"{t}c", f"{t}d"
    keys = [a, b, c, d]
    with Pair(gate, reference) as p:
        fresh(p, keys)
        p.same("MSETNX", a, "1", b, "2")
        p.same("MSETNX", a, "1", c, "2")
        p.same("RENAME", a, c)
        p.same("RENAMENX", c, b)
        p.same("RENAMENX", c, a)
        p.same("RENAME", d, a)  # no such key: Redis's error
        p.same("COPY", a, d)
        p.same("COPY", a, d)
        p.same("COPY", a, d, "REPLACE")
        p.same("MGET", a, b, c, d)
        fresh(p, keys)
        p.same("SADD", a, "x", "y", "z", "m")
        p.same("SADD", b, "y", "z", "w")
        p.same("SMOVE", a, b, "m")
        for cmd in (["SINTERSTORE", c, a, b], ["SUNIONSTORE", d, a, b], ["SDIFFSTORE", c, a, b],
                    ["SINTERCARD", "2", a, b], ["SINTERCARD", "2", a, b, "LIMIT", "1"]):
            p.same(*cmd)
        for cmd in (["SUNION", a, b], ["SINTER", a, b], ["SDIFF", a, b], ["SMEMBERS", c], ["SMEMBERS", d]):
            g, r = p.both(*cmd)
            assert sorted(g) == sorted(r), (cmd, g, r)
        fresh(p, keys)
        p.same("RPUSH", a, "1", "2", "3")
        p.same("LMOVE", a, b, "LEFT", "RIGHT")
        p.same("RPOPLPUSH", a, b)
        p.same("LMPOP", "2", c, a, "LEFT")
        p.same("LRANGE", b, "0", "-1")
        fresh(p, keys)
        p.same("ZADD", a, "1", "x", "2", "y", "3", "z")
        p.same("ZADD", b, "5", "y", "6", "w")
        for cmd in (["ZUNIONSTORE", c, "2", a, b], ["ZINTERSTORE", c, "2", a, b, "WEIGHTS", "2", "3"],
                    ["ZDIFFSTORE", d, "2", a, b], ["ZRANGESTORE", d, a, "0", "1"],
                    ["ZUNION", "2", a, b, "WITHSCORES"], ["ZINTER", "2", a, b, "AGGREGATE", "MAX", "WITHSCORES"],
                    ["ZDIFF", "2", a, b], ["ZINTERCARD", "2", a, b], ["ZRANGE", c, "0", "-1", "WITHSCORES"],
                    ["ZMPOP", "2", a, b, "MAX", "COUNT", "2"]):
            p.same(*cmd)
        fresh(p, keys)
        p.same("PFADD", a, "1", "2", "3")
        p.same("PFADD", b, "3", "4")
        p.same("PFCOUNT", a, b)
        p.same("PFMERGE", c, a, b)
        p.same("PFCOUNT", c)
        fresh(p, keys)
        p.same("SET", a, "abc")
        p.same("SET", b, "ab\xff")
        p.same("BITOP", "AND", c, a, b)
        p.same("BITOP", "XOR", d, a, b)
        p.same("BITOP", "NOT", d, a)
        p.same("MGET", c, d)
        fresh(p, keys)
        p.same("GEOADD", a, "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania")
        p.same("GEOSEARCHSTORE", c, a, "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ASC")
        p.same("ZRANGE", c, "0", "-1")
        fresh(p, keys)


def test_eval_routing(cluster, gate, reference):
    owners = cluster.slot_owners()
    a, b = "{evaltag}a", "{evaltag}b"
    set_two = "redis.call('SET', KEYS[1], ARGV[1]); redis.call('SET', KEYS[2], ARGV[2]); return redis.call('MGET', KEYS[1], KEYS[2])"
    with Pair(gate, reference) as p:
        fresh(p, [a, b])
        p.same("EVAL", set_two, "2", a, b, "one", "two")
        owner = cluster.client(owners[key_slot(a)])
        assert owner.mget(a, b) == [b"one", b"two"]
        p.same("EVAL_RO", "return redis.call('GET', KEYS[1])", "1", a)
        p.same("EVAL", "return 1 + 1", "0")
        p.same("EVAL", "return ARGV[1]", "0", "arg")
        p.same("EVAL_RO", "return {1, 'two', ARGV[1]}", "0", "x")
        # Every primary: a key in each one's slots.
        for m in cluster.masters():
            slot = next(s for s in range(16384) if owners[s] is m)
            k = skey(slot, "eval")
            p.same("EVAL", "return redis.call('SET', KEYS[1], ARGV[1])", "1", k, m.port)
            assert cluster.client(m).get(k) == str(m.port).encode()
            p.same("DEL", k)
        # Over two slots: Redis Cluster's CROSSSLOT.
        got = norm(p.g.call("EVAL", "return 1", "2", "eval:{x}", "eval:{y}"))
        assert got == ("error", CROSSSLOT), got
        # Redis's own errors for a bad numkeys and a failing script.
        p.same("EVAL", "return 1", "3", a, b)
        p.same("EVAL", "return 1", "-1")
        p.same("EVAL", "return 1", "notanumber")
        p.same("EVAL", "return 1")
        got = p.same("EVAL", "return redis.call('INCR', KEYS[1])", "1", a)
        assert isinstance(got, tuple), got
        fresh(p, [a, b])


# ----------------------------------------------------------------------------------------------
# A plain redis-py client
# ----------------------------------------------------------------------------------------------

def test_redis_py_plain_client(cluster, gate, reference):
    g, ref = gate.client(), reference.client()
    owners = cluster.slot_owners()
    keys = [f"py:{i}" for i in range(500)]
    try:
        for c in (g, ref):
            c.delete(*keys)
        mapping = {k: f"val{i}" for i, k in enumerate(keys)}
        assert g.mset(mapping) is True and ref.mset(mapping) is True
        assert g.mget(keys) == ref.mget(keys)
        assert g.mget(keys[::-1] + ["py:none"]) == ref.mget(keys[::-1] + ["py:none"])
        for k in keys[::50]:
            assert cluster.client(owners[key_slot(k)]).get(k) == mapping[k].encode()
        assert g.exists(*keys, *keys[:10]) == ref.exists(*keys, *keys[:10]) == 510
        assert g.touch(*keys[:100]) == ref.touch(*keys[:100]) == 100
        assert g.delete(*keys[:200]) == ref.delete(*keys[:200]) == 200
        assert g.unlink(*keys[200:300], "py:none") == ref.unlink(*keys[200:300], "py:none") == 100

        def fill(pipe):
            pipe.mset({k: "p" + k for k in keys[:50]})
            pipe.get(keys[10])
            pipe.mget(keys[:60])
            pipe.exists(*keys[:60])
            pipe.delete(*keys[:5], keys[400])
            pipe.set("py:single", "1")
            pipe.incr("py:single")
            pipe.touch(*keys[40:70])
            pipe.unlink(*keys[45:55])
            pipe.mget(keys)
            pipe.delete(*keys, "py:single")

        results = []
        for c in (g, ref):
            pipe = c.pipeline(transaction=False)
            fill(pipe)
            results.append(pipe.execute())
        assert results[0] == results[1], f"slotgate {results[0]!r}\nredis    {results[1]!r}"
        # raise_on_error=False: an error inside a pipeline of split commands stays in its place.
        out = []
        for c in (g, ref):
            pipe = c.pipeline(transaction=False)
            pipe.mset({"py:a": 1, "py:b": 2})
            pipe.execute_command("MSET", "py:a")
            pipe.mget("py:a", "py:b")
            pipe.delete("py:a", "py:b")
            out.append([str(x) if isinstance(x, Exception) else x for x in pipe.execute(raise_on_error=False)])
        assert out[0] == out[1], out
    finally:
        g.close()
        ref.close()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, *sys.argv[1:]]))
