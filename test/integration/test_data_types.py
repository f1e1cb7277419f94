"""Every data type's common commands through slotgate, checked directly on the owning node.

Keys are spread over all slots (k:0..k:299 plus hashtag and binary keys); for each data type the
value slotgate returns must equal what the master that owns the key's slot holds.
"""

import sys
import time

import pytest
import redis

from cluster import key_slot

N_KEYS = 300
BINARY = bytes(range(256)) + b"\r\n$5\r\n\r\n*1\r\n+OK\r\n-ERR x\r\n:1\r\n\x00"


def spread_keys(kind, n=N_KEYS):
    """Plain keys over many slots, plus hashtag keys (several keys per slot)."""
    plain = [f"{kind}:{i}" for i in range(n)]
    tagged = [f"{{tag{i % 7}}}:{kind}:{i}" for i in range(21)]
    return plain + tagged


class Owners:
    """Owning node per key, from one snapshot of the slot map (topology does not change here)."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.map = cluster.slot_owners()

    def node(self, key):
        return self.map[key_slot(key)]

    def client(self, key):
        return self.cluster.client(self.node(key))

    def assert_all_masters(self, keys):
        used = {self.node(k).port for k in keys}
        assert used == {m.port for m in self.cluster.masters()}, f"keys cover only {sorted(used)}"


def check(owners, key, via_gate, direct_fn):
    """via_gate equals direct_fn(owner client) for key."""
    got = direct_fn(owners.client(key))
    assert got == via_gate, f"{key!r}: slotgate returned {via_gate!r}, owner {owners.node(key)} has {got!r}"


# --------------------------------------------------------------------------------------------

def test_owner_map_matches_cluster(cluster):
    owners = Owners(cluster)
    for k in ["k:0", "k:1", "k:299", "{tag3}:x", b"bin:\r\n\x00"]:
        assert cluster.owner_of(k) is owners.node(k)
        assert cluster.slot_of(k) == key_slot(k)


def test_keyslot_matches_server(cluster, gate):
    r = gate.client()
    node = cluster.client(cluster.masters()[0])
    keys = [f"k:{i}" for i in range(50)] + ["{user1000}.following", "a{}b", "{}", "{a}{b}", "x{",
                                             b"\x00\xff\r\n", BINARY, ""]
    for k in keys:
        assert r.execute_command("CLUSTER", "KEYSLOT", k) == node.execute_command("CLUSTER", "KEYSLOT", k), k


def test_strings_basic(cluster, gate):
    r, owners = gate.client(), Owners(cluster)
    keys = spread_keys("str")
    owners.assert_all_masters(keys)
    for i, k in enumerate(keys):
        assert r.set(k, f"v{i}") is True
    for i, k in enumerate(keys):
        v = r.get(k)
        assert v == f"v{i}".encode(), (k, v)
        check(owners, k, v, lambda c: c.get(k))
    assert r.get("str:missing:key") is None


def test_strings_set_options(cluster, gate):
    r, owners = gate.client(), Owners(cluster)
    for i in range(30):
        k = f"opt:{i}"
        r.delete(k)
        assert r.set(k, "a", nx=True) is True
        assert r.set(k, "b", nx=True) is None
        assert r.set(k, "c", xx=True) is True
        assert r.set(f"opt:missing:{i}", "c", xx=True) is None
        assert r.set(k, "d", get=True) == b"c"
        assert r.set(k, "e", ex=100) is True
        ttl = r.ttl(k)
        assert 0 < ttl <= 100, ttl
        check(owners, k, ttl, lambda c: c.ttl(k))
        assert r.set(k, "f", keepttl=True) is True
        assert 0 < r.ttl(k) <= 100
        assert r.set(k, "g", px=50000) is True
        assert 0 < r.pttl(k) <= 50000
        check(owners, k, b"g", lambda c: c.get(k))
        assert r.setnx(k, "h") is False
        assert r.setex(k, 60, "i") is True
        check(owners, k, b"i", lambda c: c.get(k))


def test_strings_commands(cluster, gate):
    r, owners = gate.client(), Owners(cluster)
    keys = spread_keys("cnt", 60)
    owners.assert_all_masters(keys)
    for k in keys:
        r.delete(k)
        assert r.incr(k) == 1
        assert r.incrby(k, 41) == 42
        assert r.decr(k) == 41
        assert r.decrby(k, 1) == 40
        assert r.incrbyfloat(k, 0.5) == 40.5
        check(owners, k, b"40.5", lambda c: c.get(k))
        assert r.set(k, "Hello") is True
        assert r.append(k, " World") == 11
        assert r.strlen(k) == 11
        assert r.getrange(k, 0, 4) == b"Hello"
        assert r.getrange(k, -5, -1) == b"World"
        assert r.setrange(k, 6, "Redis") == 11
        check(owners, k, b"Hello Redis", lambda c: c.get(k))
        assert r.getex(k, ex=200) == b"Hello Redis"
        assert 0 < r.ttl(k) <= 200
        assert r.getex(k, persist=True) == b"Hello Redis"
        assert r.ttl(k) == -1
        check(owners, k, -1, lambda c: c.ttl(k))
        assert r.getdel(k) == b"Hello Redis"
        assert r.get(k) is None
        check(owners, k, 0, lambda c: c.exists(k))
    r.set("cnt:notint", "x")
    try:
        r.incr("cnt:notint")
        raise AssertionError("INCR on a non-integer should fail")
    except redis.ResponseError as e:
        assert "not an integer" in str(e), e


def test_binary_safe(cluster, gate):
    r, owners = gate.client(), Owners(cluster)
    keys = [b"bin:" + bytes([i]) + b"\r\n" + bytes([255 - i]) for i in range(0, 256, 3)]
    keys += [b"bin:\r\n", b"bin:\x00", b"\r\n", b"$1\r\n", b"*2\r\n"]
    owners.assert_all_masters(keys)
    for i, k in enumerate(keys):
        value = BINARY[i % 7:] + bytes([i % 256]) * (i % 5)
        assert r.set(k, value) is True
        assert r.get(k) == value, k
        check(owners, k, value, lambda c: c.get(k))
    # Empty value and empty key.
    assert r.set(b"", b"") is True
    assert r.get(b"") == b""
    check(owners, b"", b"", lambda c: c.get(b""))
    r.delete(b"")
    # Large values, several MB, that cross many socket reads.
    for size in (100_000, 2_000_000, 8_000_000):
        k = f"big:{size}"
        value = (BINARY * (size // len(BINARY) + 1))[:size]
        assert r.set(k, value) is True
        assert r.get(k) == value
        assert r.strlen(k) == size
        check(owners, k, value, lambda c: c.get(k))


def test_single_key_generic(cluster, gate):
    r, owners = gate.client(), Owners(cluster)
    keys = spread_keys("gen", 30)
    for k in keys:
        r.set(k, "x")
        assert r.exists(k) == 1
        assert r.type(k) == b"string"
        assert r.delete(k) == 1
        assert r.exists(k) == 0
        check(owners, k, 0, lambda c: c.exists(k))
        r.set(k, "y")
        assert r.unlink(k) == 1
        assert r.touch(k) == 0
        check(owners, k, 0, lambda c: c.exists(k))


def test_same_slot_multikey(cluster, gate):
    """Multi-key commands whose keys share one slot (hashtag) behave like on a single Redis."""
    r, owners = gate.client(), Owners(cluster)
    for t in range(9):
        tag = f"{{mk{t}}}"
        a, b, c = f"{tag}:a", f"{tag}:b", f"{tag}:c"
        assert r.mset({a: "1", b: "2"}) is True
        assert r.mget([a, b, c]) == [b"1", b"2", None]
        check(owners, b, b"2", lambda cl: cl.get(b))
        assert r.rename(a, c) is True
        check(owners, c, b"1", lambda cl: cl.get(c))
        assert r.exists(a, b, c) == 2
        assert r.delete(a, b, c) == 2
        check(owners, c, 0, lambda cl: cl.exists(c))


def test_hashes(cluster, gate):
    r, owners = gate.client(), Owners(cluster)
    keys = spread_keys("hash", 60)
    owners.assert_all_masters(keys)
    for i, k in enumerate(keys):
        r.delete(k)
        assert r.hset(k, mapping={"f1": "v1", "f2": "v2", "n": 10, b"bin\r\n": BINARY}) == 4
        assert r.hset(k, "f1", "v1b") == 0
        assert r.hsetnx(k, "f1", "zzz") == 0
        assert r.hsetnx(k, "f3", "v3") == 1
        assert r.hget(k, "f1") == b"v1b"
        assert r.hget(k, b"bin\r\n") == BINARY
        assert r.hmget(k, ["f1", "f2", "nope"]) == [b"v1b", b"v2", None]
        assert r.hincrby(k, "n", 5) == 15
        assert r.hincrbyfloat(k, "n", 0.25) == 15.25
        assert r.hexists(k, "f2") is True
        assert r.hdel(k, "f2", "nope") == 1
        assert r.hlen(k) == 4
        assert r.hstrlen(k, "f3") == 2
        assert sorted(r.hkeys(k)) == sorted([b"f1", b"n", b"bin\r\n", b"f3"])
        assert len(r.hvals(k)) == 4
        assert r.hrandfield(k) in (b"f1", b"n", b"bin\r\n", b"f3")
        cursor, fields = r.hscan(k, 0, count=100)
        assert cursor == 0 and len(fields) == 4
        whole = r.hgetall(k)
        assert whole == {b"f1": b"v1b", b"n": b"15.25", b"bin\r\n": BINARY, b"f3": b"v3"}
        check(owners, k, whole, lambda c: c.hgetall(k))


def test_lists(cluster, gate):
    r, owners = gate.client(), Owners(cluster)
    keys = spread_keys("list", 60)
    owners.assert_all_masters(keys)
    for k in keys:
        r.delete(k)
        assert r.rpush(k, "a", "b", "c", "b") == 4
        assert r.lpush(k, "z") == 5
        assert r.lrange(k, 0, -1) == [b"z", b"a", b"b", b"c", b"b"]
        assert r.lpos(k, "b") == 2
        assert r.lpos(k, "b", rank=2) == 4
        assert r.lpos(k, "b", count=0) == [2, 4]
        assert r.lpos(k, "nope") is None
        assert r.linsert(k, "BEFORE", "c", "bc") == 6
        assert r.linsert(k, "AFTER", "c", "cd") == 7
        assert r.lindex(k, 3) == b"bc"
        assert r.lset(k, 0, "Z") is True
        assert r.llen(k) == 7
        assert r.lrem(k, 1, "b") == 1
        assert r.rpoplpush(k, k) == b"b"  # same key: one slot
        assert r.lmove(k, k, "LEFT", "RIGHT") == b"b"
        assert r.lpop(k) == b"Z"
        assert r.rpop(k, 2) == [b"b", b"cd"]
        assert r.rpush(k, BINARY) == 4
        assert r.ltrim(k, 0, 10) is True
        whole = r.lrange(k, 0, -1)
        assert whole == [b"a", b"bc", b"c", BINARY], whole
        check(owners, k, whole, lambda c: c.lrange(k, 0, -1))


def test_sets(cluster, gate):
    r, owners = gate.client(), Owners(cluster)
    keys = spread_keys("set", 60)
    owners.assert_all_masters(keys)
    for k in keys:
        r.delete(k)
        assert r.sadd(k, "a", "b", "c", "d", BINARY) == 5
        assert r.sadd(k, "a") == 0
        assert r.sismember(k, "a") is True
        assert r.smismember(k, ["a", "x", BINARY]) == [1, 0, 1]
        assert r.scard(k) == 5
        assert r.srandmember(k) in {b"a", b"b", b"c", b"d", BINARY}
        assert len(r.srandmember(k, 3)) == 3
        assert len(r.srandmember(k, -8)) == 8
        assert r.srem(k, "d", "nope") == 1
        popped = r.spop(k)
        assert popped in {b"a", b"b", b"c", BINARY}
        cursor, members = r.sscan(k, 0, count=100)
        assert cursor == 0 and len(members) == 3
        whole = r.smembers(k)
        assert len(whole) == 3 and popped not in whole
        check(owners, k, whole, lambda c: c.smembers(k))


def test_sorted_sets(cluster, gate):
    r, owners = gate.client(), Owners(cluster)
    keys = spread_keys("zset", 60)
    owners.assert_all_masters(keys)
    for k in keys:
        r.delete(k)
        assert r.zadd(k, {"a": 1, "b": 2, "c": 3, "d": 4}) == 4
        assert r.zadd(k, {"a": 10}, nx=True) == 0
        assert r.zadd(k, {"a": 1.5, "e": 5}, xx=True, ch=True) == 1
        assert r.zadd(k, {"b": 1}, gt=True, ch=True) == 0
        assert r.zadd(k, {"b": 2.5}, gt=True, ch=True) == 1
        assert r.zadd(k, {"c": 0.5}, lt=True, ch=True) == 1
        assert r.zadd(k, {"c": 1}, incr=True) == 1.5
        assert r.zrange(k, 0, -1, withscores=True) == [(b"a", 1.5), (b"c", 1.5), (b"b", 2.5), (b"d", 4.0)]
        assert r.zrange(k, 2, 4, byscore=True) == [b"b", b"d"]
        assert r.zrange(k, "(1.5", "+inf", byscore=True, offset=0, num=1) == [b"b"]
        assert r.zrangebyscore(k, 1, 2) == [b"a", b"c"]
        assert r.zrevrange(k, 0, 0) == [b"d"]
        assert r.zrank(k, "b") == 2
        assert r.zrevrank(k, "b") == 1
        assert r.zincrby(k, 10, "a") == 11.5
        assert r.zscore(k, "a") == 11.5
        assert r.zmscore(k, ["a", "nope"]) == [11.5, None]
        assert r.zcard(k) == 4
        assert r.zcount(k, 2, 5) == 2
        assert r.zrem(k, "d") == 1
        assert r.zpopmin(k) == [(b"c", 1.5)]
        assert r.zadd(k, {BINARY: 7}) == 1
        whole = r.zrange(k, 0, -1, withscores=True)
        assert whole == [(b"b", 2.5), (BINARY, 7.0), (b"a", 11.5)], whole
        check(owners, k, whole, lambda c: c.zrange(k, 0, -1, withscores=True))


def test_streams(cluster, gate):
    r, owners = gate.client(), Owners(cluster)
    keys = spread_keys("stream", 30)
    owners.assert_all_masters(keys)
    for k in keys:
        r.delete(k)
        assert r.xadd(k, {"f": "1"}, id="1-1") == b"1-1"
        assert r.xadd(k, {"f": "2", "bin": BINARY}, id="2-1") == b"2-1"
        auto = r.xadd(k, {"f": "3"})
        assert auto.count(b"-") == 1
        assert r.xlen(k) == 3
        entries = r.xrange(k, "-", "+")
        assert [e[0] for e in entries] == [b"1-1", b"2-1", auto]
        assert entries[1][1] == {b"f": b"2", b"bin": BINARY}
        assert r.xrevrange(k, "+", "-", count=1)[0][0] == auto
        check(owners, k, entries, lambda c: c.xrange(k, "-", "+"))
        assert r.xgroup_create(k, "g1", id="0") is True
        # XREADGROUP is not proxied yet: create pending entries directly on the owner.
        owner = owners.client(k)
        read = owner.xreadgroup("g1", "consumer1", {k: ">"}, count=2)
        assert len(read[0][1]) == 2
        summary = r.xpending(k, "g1")
        assert summary["pending"] == 2, summary
        assert summary["min"] == b"1-1" and summary["max"] == b"2-1"
        detail = r.xpending_range(k, "g1", "-", "+", 10)
        assert [d["message_id"] for d in detail] == [b"1-1", b"2-1"]
        assert r.xack(k, "g1", "1-1") == 1
        assert r.xack(k, "g1", "1-1") == 0
        assert owner.xpending(k, "g1")["pending"] == 1
        info = r.xinfo_stream(k)
        assert info["length"] == 3 and info["groups"] == 1 and info["last-generated-id"] == auto
        direct = owner.xinfo_stream(k)
        for field in ("length", "groups", "last-generated-id", "first-entry", "last-entry"):
            assert info[field] == direct[field], (field, info[field], direct[field])
        assert r.xdel(k, "2-1") == 1
        assert r.xtrim(k, maxlen=1, approximate=False) == 1
        check(owners, k, r.xrange(k), lambda c: c.xrange(k))
        assert r.xlen(k) == 1


def test_bitmaps(cluster, gate):
    r, owners = gate.client(), Owners(cluster)
    keys = spread_keys("bits", 60)
    owners.assert_all_masters(keys)
    for k in keys:
        r.delete(k)
        assert r.setbit(k, 7, 1) == 0
        assert r.setbit(k, 7, 1) == 1
        assert r.setbit(k, 100, 1) == 0
        assert r.getbit(k, 100) == 1
        assert r.getbit(k, 99) == 0
        assert r.bitcount(k) == 2
        assert r.bitcount(k, 0, 0) == 1
        assert r.execute_command("BITCOUNT", k, 0, 99, "BIT") == 1
        assert r.bitpos(k, 1) == 7
        assert r.bitpos(k, 1, 1) == 100
        assert r.bitpos(k, 0) == 0
        bf = r.bitfield(k)
        res = bf.set("u8", "#2", 200).get("u8", "#2").incrby("u8", "#2", 100).execute()
        assert res == [0, 200, 44], res
        res = r.bitfield(k).overflow("SAT").incrby("u8", "#2", 250).execute()
        assert res == [255], res
        assert r.execute_command("BITFIELD_RO", k, "GET", "u8", "#2") == [255]
        raw = r.get(k)
        check(owners, k, raw, lambda c: c.get(k))
        assert len(raw) == 13


def test_hyperloglog(cluster, gate):
    r, owners = gate.client(), Owners(cluster)
    keys = spread_keys("hll", 30)
    owners.assert_all_masters(keys)
    for k in keys:
        r.delete(k)
        assert r.pfadd(k, *[f"e{i}" for i in range(1000)]) == 1
        assert r.pfadd(k, "e1") == 0
        count = r.pfcount(k)
        assert 950 <= count <= 1050, count
        check(owners, k, count, lambda c: c.pfcount(k))
        check(owners, k, r.get(k), lambda c: c.get(k))


def test_geo(cluster, gate):
    r, owners = gate.client(), Owners(cluster)
    keys = spread_keys("geo", 30)
    owners.assert_all_masters(keys)
    for k in keys:
        r.delete(k)
        assert r.geoadd(k, [13.361389, 38.115556, "Palermo", 15.087269, 37.502669, "Catania"]) == 2
        dist = r.geodist(k, "Palermo", "Catania", unit="km")
        assert abs(dist - 166.2742) < 0.01, dist
        pos = r.geopos(k, "Palermo", "nope")
        assert abs(pos[0][0] - 13.361389) < 1e-4 and pos[1] is None
        assert r.geohash(k, "Palermo") == ["sqc8b49rny0"]
        found = r.geosearch(k, longitude=15, latitude=37, radius=200, unit="km", sort="ASC")
        assert found == [b"Catania", b"Palermo"], found
        found = r.geosearch(k, member="Palermo", width=400, height=400, unit="km", sort="DESC",
                            withdist=True)
        assert [f[0] for f in found] == [b"Catania", b"Palermo"], found
        whole = r.zrange(k, 0, -1, withscores=True)
        check(owners, k, whole, lambda c: c.zrange(k, 0, -1, withscores=True))


def test_expiry(cluster, gate):
    r, owners = gate.client(), Owners(cluster)
    keys = spread_keys("exp", 60)
    owners.assert_all_masters(keys)
    for k in keys:
        r.set(k, "v")
        assert r.ttl(k) == -1
        assert r.ttl(k + ":missing") == -2
        assert r.expire(k, 1000) is True
        assert 990 <= r.ttl(k) <= 1000
        assert 990_000 <= r.pttl(k) <= 1_000_000
        assert r.expire(k, 500, gt=True) is False
        assert r.expire(k, 500, lt=True) is True
        at = r.expiretime(k)
        assert abs(at - (time.time() + 500)) < 5, at
        check(owners, k, at, lambda c: c.expiretime(k))
        assert r.persist(k) is True
        assert r.expiretime(k) == -1
        check(owners, k, -1, lambda c: c.ttl(k))
        assert r.pexpireat(k, int(time.time() * 1000) + 100_000) is True
        assert 0 < r.pttl(k) <= 100_000
    # Keys that actually expire disappear through the proxy and on the node.
    short = keys[:20]
    for k in short:
        assert r.pexpire(k, 100) is True
    time.sleep(0.4)
    for k in short:
        assert r.get(k) is None
        check(owners, k, 0, lambda c: c.exists(k))


def test_introspection(cluster, gate):
    r, owners = gate.client(), Owners(cluster)
    samples = {
        "string": lambda k: r.set(k, "hello"),
        "list": lambda k: r.rpush(k, "a", "b"),
        "hash": lambda k: r.hset(k, "f", "v"),
        "set": lambda k: r.sadd(k, "1", "2"),
        "zset": lambda k: r.zadd(k, {"a": 1}),
        "stream": lambda k: r.xadd(k, {"f": "v"}),
    }
    keys = []
    for i in range(30):
        for typ, make in samples.items():
            k = f"intro:{typ}:{i}"
            keys.append(k)
            r.delete(k)
            make(k)
            assert r.type(k) == typ.encode()
            enc = r.object("encoding", k)
            check(owners, k, enc, lambda c: c.object("encoding", k))
            usage = r.memory_usage(k)
            assert isinstance(usage, int) and usage > 0
            check(owners, k, usage, lambda c: c.memory_usage(k))
    owners.assert_all_masters(keys)
    r.set("intro:int", 12345)
    assert r.object("encoding", "intro:int") == b"int"
    r.set("intro:raw", "x" * 100)
    assert r.object("encoding", "intro:raw") == b"raw"
    assert r.type("intro:none") == b"none"
    assert r.object("encoding", "intro:none") is None


def test_dump_restore(cluster, gate):
    r, owners = gate.client(), Owners(cluster)
    # (make, read back the content): DUMP bytes of a restored set need not equal the source's
    # (element order), so the restored content is compared, and DUMP of the copy on its owner.
    makers = [
        (lambda k: r.set(k, BINARY), lambda c, k: c.get(k)),
        (lambda k: r.rpush(k, BINARY, "x"), lambda c, k: c.lrange(k, 0, -1)),
        (lambda k: r.hset(k, mapping={"f": BINARY}), lambda c, k: c.hgetall(k)),
        (lambda k: r.sadd(k, BINARY, "y"), lambda c, k: c.smembers(k)),
        (lambda k: r.zadd(k, {BINARY: 1.5}), lambda c, k: c.zrange(k, 0, -1, withscores=True)),
        (lambda k: r.xadd(k, {"f": BINARY}, id="5-5"), lambda c, k: c.xrange(k)),
        (lambda k: r.pfadd(k, "a", "b", "c"), lambda c, k: c.pfcount(k)),
    ]
    keys = []
    for i in range(40):
        src, dst = f"dump:src:{i}", f"dump:dst:{i}"
        keys += [src, dst]
        r.delete(src)
        r.delete(dst)
        make, content = makers[i % len(makers)]
        make(src)
        payload = r.dump(src)
        check(owners, src, payload, lambda c: c.dump(src))
        assert r.restore(dst, 0, payload) == b"OK"
        try:
            r.restore(dst, 0, payload)
            raise AssertionError("RESTORE onto an existing key should fail with BUSYKEY")
        except redis.ResponseError as e:
            assert "BUSYKEY" in str(e), e
        assert r.restore(dst, 60_000, payload, replace=True) == b"OK"
        assert 0 < r.pttl(dst) <= 60_000
        check(owners, dst, r.dump(dst), lambda c: c.dump(dst))
        check(owners, dst, r.type(src), lambda c: c.type(dst))
        check(owners, dst, content(r, src), lambda c: content(c, dst))
    owners.assert_all_masters(keys)


def test_keys_live_on_owner(cluster, gate):
    """What slotgate wrote is on the owning master, and only there."""
    r = gate.client()
    masters = cluster.masters()
    for i in range(0, 300, 10):
        k = f"k:{i}"
        r.set(k, f"owner-check-{i}")
        owner = cluster.owner_of(k)
        assert cluster.client(owner).get(k) == f"owner-check-{i}".encode()
        for m in masters:
            if m is not owner:
                try:
                    cluster.client(m).get(k)
                    raise AssertionError(f"{k} readable on non-owner {m}")
                except redis.ResponseError as e:
                    assert str(e).startswith("MOVED"), e


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, *sys.argv[1:]]))
