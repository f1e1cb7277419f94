"""Keyspace-wide and server commands through slotgate.

KEYS, DBSIZE, SCAN, RANDOMKEY, FLUSHALL/FLUSHDB, SCRIPT, FUNCTION, INFO, CONFIG, OBJECT/MEMORY,
TIME, the commands slotgate refuses, and the one-node cluster slotgate presents to cluster-aware
clients. Results are compared with a standalone reference redis-server started by this file and
checked directly on the cluster's nodes.
"""

import fnmatch
import gc
import hashlib
import re
import sys
import time

import pytest
import redis
import redis.cluster

from reference import norm
from cluster import (HOST, RawConnection, RespError, encode_command, key_slot, log,
                     tag_for_slot, wait_until)

CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot"
N_SCAN_KEYS = 50_000



# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------

def same(g, r, *args):
    gv, rv = norm(g.call(*args)), norm(r.call(*args))
    assert gv == rv, f"{args!r}:\n  slotgate: {gv!r}\n  redis:    {rv!r}"
    return gv


def skey(slot, name):
    return f"{{{tag_for_slot(slot)}}}:{name}"


def parse_info(text):
    """INFO text -> [(section title, {field: value})] in order."""
    if isinstance(text, bytes):
        text = text.decode()
    sections = []
    for line in text.split("\r\n"):
        if not line:
            continue
        if line.startswith("# "):
            sections.append((line[2:].strip(), {}))
            continue
        assert sections, f"INFO field before any section header: {line!r}"
        k, sep, v = line.partition(":")
        assert sep, f"INFO line without ':': {line!r}"
        sections[-1][1][k] = v
    return sections


def info_of(conn_or_node, *sections):
    """INFO of a RawConnection (to slotgate or a node) or of a cluster Node, parsed."""
    if isinstance(conn_or_node, RawConnection):
        reply = conn_or_node.call("INFO", *sections)
    else:
        with RawConnection(conn_or_node.port) as c:
            reply = c.call("INFO", *sections)
    assert isinstance(reply, bytes), f"INFO {sections}: {reply!r}"
    return parse_info(reply)


def section(info, title):
    for t, fields in info:
        if t.lower() == title.lower():
            return fields
    raise AssertionError(f"no '# {title}' section in INFO; sections: {[t for t, _ in info]}")


def sub_fields(value):
    """'calls=3,usec=10,usec_per_call=3.33' -> dict."""
    return dict(part.split("=", 1) for part in value.split(","))


def node_cmdstat_calls(cluster, node, name):
    cs = section(info_of(node, "commandstats"), "Commandstats")
    v = cs.get(f"cmdstat_{name}")
    return int(sub_fields(v)["calls"]) if v else 0


def flushall_both(gate, reference):
    with gate.raw() as g:
        assert g.call("FLUSHALL") == b"OK"
    reference.client().flushall()


def slots_by_master(cluster):
    owners = cluster.slot_owners()
    out = {}
    for s, n in enumerate(owners):
        out.setdefault(n.port, []).append(s)
    return out


def keys_on_every_range(cluster, name):
    """Keys at the first, a middle and the last slot of every master's slots."""
    keys = []
    for port, slots in sorted(slots_by_master(cluster).items()):
        for s in (slots[0], slots[len(slots) // 2], slots[-1]):
            keys.append(skey(s, name))
    return keys


# ----------------------------------------------------------------------------------------------
# KEYS, DBSIZE, SCAN, RANDOMKEY, FLUSH*
# ----------------------------------------------------------------------------------------------

def test_keys_and_dbsize_match_reference(cluster, gate, reference):
    flushall_both(gate, reference)
    g, r = gate.client(), reference.client()
    keys = [f"ks:{i}" for i in range(2000)] + [f"{{tag{i % 9}}}:ks:{i}" for i in range(200)]
    keys += [b"ks:bin:\r\n\x00" + bytes([i]) for i in range(0, 256, 8)]
    for c in (g, r):
        pipe = c.pipeline(transaction=False)
        for i, k in enumerate(keys):
            pipe.set(k, i)
        pipe.execute()
    with gate.raw() as gr, reference.raw() as rr:
        for pattern in ("*", "ks:1*", "*{tag3}*", "ks:bin:*", "ks:?", "nomatch*", "ks:[12]0"):
            gk, rk = gr.call("KEYS", pattern), rr.call("KEYS", pattern)
            assert isinstance(gk, list), f"KEYS {pattern}: {gk!r}"
            assert sorted(gk) == sorted(rk), f"KEYS {pattern}: slotgate {len(gk)} keys, redis {len(rk)}"
            assert len(gk) == len(set(gk)), f"KEYS {pattern} returned duplicates"
        assert len(gr.call("KEYS", "*")) == len(keys)
        n = same(gr, rr, "DBSIZE")
        assert n == len(keys), n
        direct = sum(cluster.client(m).dbsize() for m in cluster.masters())
        assert direct == n, (direct, n)
        same(gr, rr, "KEYS")           # arity error
        same(gr, rr, "DBSIZE", "x")    # arity error
    g.close()
    r.close()


def _write_scan_keys(client):
    pipe = client.pipeline(transaction=False)
    for i in range(N_SCAN_KEYS):
        if i % 25 == 0:
            pipe.hset(f"scan:h:{i}", "f", i)
        elif i % 40 == 1:
            pipe.sadd(f"scan:z:{i}", i)
        else:
            pipe.set(f"scan:s:{i}", i)
        if len(pipe) >= 5000:
            pipe.execute()
    pipe.execute()


def test_scan_full_iteration(cluster, gate, reference):
    flushall_both(gate, reference)
    g, r = gate.client(), reference.client()
    t = time.monotonic()
    _write_scan_keys(g)
    _write_scan_keys(r)
    log(f"wrote {N_SCAN_KEYS} keys to slotgate and to the reference in {time.monotonic() - t:.1f}s")
    expected = set(r.keys("*"))
    assert len(expected) == N_SCAN_KEYS
    assert g.dbsize() == N_SCAN_KEYS
    t = time.monotonic()
    got = list(g.scan_iter(count=1000))
    log(f"full SCAN through slotgate: {len(got)} keys ({len(got) - len(set(got))} duplicates) in {time.monotonic() - t:.1f}s")
    missing = expected - set(got)
    extra = set(got) - expected
    assert not missing and not extra, f"SCAN missed {len(missing)} keys (e.g. {sorted(missing)[:5]}), extra {sorted(extra)[:5]}"
    for kwargs in ({"match": "scan:s:1*"}, {"match": "scan:*:9?9"}, {"_type": "hash"}, {"_type": "set"},
                   {"_type": "string", "match": "scan:s:4*"}, {"match": "nomatch:*"}):
        gs = set(g.scan_iter(count=1000, **kwargs))
        rs = set(r.scan_iter(count=1000, **kwargs))
        assert gs == rs, f"SCAN {kwargs}: slotgate {len(gs)} keys, redis {len(rs)}; missing {sorted(rs - gs)[:5]} extra {sorted(gs - rs)[:5]}"
        if "match" in kwargs:
            assert all(fnmatch.fnmatchcase(k.decode(), kwargs["match"]) for k in gs)
    assert len(set(g.scan_iter(count=1000, _type="hash"))) == N_SCAN_KEYS // 25
    # The raw protocol: cursors are decimal strings, iteration ends on "0", every cursor decodes.
    with gate.raw() as gr:
        cursor, rounds, seen = b"0", 0, set()
        while True:
            reply = gr.call("SCAN", cursor, "COUNT", "5000")
            assert isinstance(reply, list) and len(reply) == 2, reply
            cursor, batch = reply
            assert re.fullmatch(rb"[0-9]+", cursor), cursor
            seen.update(batch)
            rounds += 1
            if cursor == b"0":
                break
            assert int(cursor) & 1023 < len(cluster.masters()), cursor
            assert rounds < 1000
        assert seen == expected
        # Plain SCAN with no COUNT pages too.
        reply = gr.call("SCAN", "0")
        assert isinstance(reply, list) and reply[0] != b"0" and 0 < len(reply[1]) < 100, reply[:1]
    g.close()
    r.close()


def test_scan_invalid_cursors_and_options(cluster, gate, reference):
    with gate.raw() as gr, reference.raw() as rr:
        for cursor in ("abc", "1023", "3", "1027", "4099", "12abc", "99999999999999999999999", "1.5", " 1"):
            got = norm(gr.call("SCAN", cursor))
            assert got == ("error", "ERR invalid cursor"), f"SCAN {cursor!r}: {got!r}"
        for cursor in ("abc", "12abc", "99999999999999999999999"):
            assert norm(rr.call("SCAN", cursor)) == ("error", "ERR invalid cursor")
        # Option errors are Redis's own.
        for args in (["0", "COUNT", "0"], ["0", "COUNT", "abc"], ["0", "MATCH"], ["0", "BOGUS", "x"]):
            same(gr, rr, "SCAN", *args)
        same(gr, rr, "SCAN")
        # Valid cursors with a primary index < number of primaries are accepted.
        for cursor in ("0", "1", "2"):
            reply = gr.call("SCAN", cursor, "COUNT", "10")
            assert isinstance(reply, list), f"SCAN {cursor}: {reply!r}"


def test_randomkey(cluster, gate, reference):
    g = gate.client()
    owners = cluster.slot_owners()
    if g.dbsize() < 3000:  # test_scan_full_iteration normally leaves its keys
        pipe = g.pipeline(transaction=False)
        for i in range(3000):
            pipe.set(f"scan:s:{i}", i)
        pipe.execute()
    seen_nodes = set()
    for _ in range(40):
        k = g.randomkey()
        assert k is not None
        assert k.startswith(b"scan:"), k
        assert cluster.client(owners[key_slot(k)]).exists(k) == 1, k
        seen_nodes.add(owners[key_slot(k)].port)
    assert len(seen_nodes) > 1, f"40 RANDOMKEYs all came from {seen_nodes}"
    # Only one primary holds keys: never nil.
    assert g.flushall() is True
    lonely = skey(slots_by_master(cluster)[cluster.masters()[2].port][7], "lonely")
    g.set(lonely, "1")
    for _ in range(30):
        assert g.randomkey() == lonely.encode()
    # SCAN walks past the empty primaries.
    assert list(g.scan_iter(count=10)) == [lonely.encode()]
    assert g.flushall() is True
    for _ in range(5):
        assert g.randomkey() is None
    assert list(g.scan_iter(count=10)) == []
    with gate.raw() as gr:
        cursor, rounds = b"0", 0
        while True:
            cursor, batch = gr.call("SCAN", cursor)
            assert batch == [], batch
            rounds += 1
            if cursor == b"0":
                break
            assert rounds <= 3, f"SCAN of an empty db took more than one call per primary ({cursor!r})"
    with gate.raw() as gr, reference.raw() as rr:
        same(gr, rr, "RANDOMKEY", "x")
    g.close()


def _fill_all_masters(cluster, gate, n=300):
    g = gate.client()
    pipe = g.pipeline(transaction=False)
    for i in range(n):
        pipe.set(f"fl:{i}", i)
    pipe.execute()
    g.close()
    for m in cluster.masters():
        assert cluster.client(m).dbsize() > 0, m


def test_flushall_flushdb(cluster, gate, reference):
    with gate.raw() as gr, reference.raw() as rr:
        for cmd in (["FLUSHDB"], ["FLUSHALL"], ["FLUSHDB", "ASYNC"], ["FLUSHALL", "ASYNC"],
                    ["FLUSHALL", "SYNC"], ["flushdb", "sync"]):
            _fill_all_masters(cluster, gate)
            reply = gr.call(*cmd)
            assert reply == b"OK", f"{cmd}: {reply!r}"
            # Right after +OK every primary is empty (read directly, no waiting).
            sizes = {m.addr: cluster.client(m).dbsize() for m in cluster.masters()}
            assert all(v == 0 for v in sizes.values()), f"{cmd}: primaries after +OK: {sizes}"
            assert gr.call("DBSIZE") == 0
        # Bad arguments: Redis's error, nothing flushed.
        _fill_all_masters(cluster, gate)
        for cmd in (["FLUSHALL", "foo"], ["FLUSHDB", "ASYNC", "SYNC"]):
            got = gr.call(*cmd)
            ref = rr.call(*cmd)
            assert isinstance(got, RespError) and isinstance(ref, RespError), (cmd, got, ref)
            assert str(got).startswith(str(ref)), f"{cmd}: slotgate {got}, redis {ref}"
            for m in cluster.masters():
                assert cluster.client(m).dbsize() > 0, f"{cmd} flushed {m}"
        assert gr.call("FLUSHALL") == b"OK"


# ----------------------------------------------------------------------------------------------
# SCRIPT and FUNCTION
# ----------------------------------------------------------------------------------------------

SET_SCRIPT = "return redis.call('SET', KEYS[1], ARGV[1])"
GET_SCRIPT = "return redis.call('GET', KEYS[1])"
LIBRARY = ("#!lua name=mylib\n"
           "redis.register_function('myfunc', function(keys, args) return redis.call('GET', keys[1]) end)")


def test_script_load_exists_flush(cluster, gate, reference):
    g = gate.client()
    masters = cluster.masters()
    with gate.raw() as gr, reference.raw() as rr:
        assert gr.call("SCRIPT", "FLUSH") == b"OK"
        sha = gr.call("SCRIPT", "LOAD", SET_SCRIPT)
        assert sha == hashlib.sha1(SET_SCRIPT.encode()).hexdigest().encode(), sha
        for m in masters:
            assert cluster.client(m).script_exists(sha.decode()) == [True], f"script not loaded on {m}"
        ro_sha = gr.call("SCRIPT", "LOAD", GET_SCRIPT)
        # EVALSHA on keys at the start, middle and end of every primary's slots.
        owners = cluster.slot_owners()
        keys = keys_on_every_range(cluster, "evalsha")
        for i, k in enumerate(keys):
            assert gr.call("EVALSHA", sha, "1", k, f"v{i}") == b"OK", k
            assert cluster.client(owners[key_slot(k)]).get(k) == f"v{i}".encode(), k
            assert gr.call("EVALSHA_RO", ro_sha, "1", k) == f"v{i}".encode(), k
            assert gr.call("evalsha", sha.upper(), "1", k, "again") == b"OK", k
        unknown = "0" * 40
        assert gr.call("SCRIPT", "EXISTS", sha, unknown, ro_sha) == [1, 0, 1]
        assert g.script_exists(sha.decode(), unknown) == [True, False]
        # Present on one primary only: not "existing" for slotgate.
        partial = "return 'only-here'"
        partial_sha = cluster.client(masters[0]).script_load(partial)
        assert gr.call("SCRIPT", "EXISTS", partial_sha, sha) == [0, 1]
        # Unknown sha and bad arity: Redis's own errors.
        same(gr, rr, "EVALSHA", unknown, "0")
        same(gr, rr, "EVALSHA", unknown, "1", keys[0])
        same(gr, rr, "SCRIPT", "EXISTS")
        assert gr.call("SCRIPT", "FLUSH") == b"OK"
        for m in masters:
            assert cluster.client(m).script_exists(sha.decode(), ro_sha.decode(), partial_sha) == [False] * 3, m
        assert gr.call("SCRIPT", "EXISTS", sha) == [0]
        sha2 = gr.call("SCRIPT", "LOAD", GET_SCRIPT)
        assert gr.call("SCRIPT", "FLUSH", "ASYNC") == b"OK"
        for m in masters:
            assert cluster.client(m).script_exists(sha2.decode()) == [False], m
        same(gr, rr, "EVALSHA", sha2, "1", keys[0])
        for k in keys:
            gr.call("DEL", k)
    g.close()


def _libraries(reply):
    """FUNCTION LIST reply (raw) -> {library_name: [function names]}."""
    out = {}
    for lib in reply:
        d = dict(zip(lib[::2], lib[1::2]))
        funcs = []
        for f in d[b"functions"]:
            fd = dict(zip(f[::2], f[1::2]))
            funcs.append(fd[b"name"])
        out[d[b"library_name"]] = funcs
    return out


def _node_libraries(cluster, node):
    with RawConnection(node.port) as c:
        return _libraries(c.call("FUNCTION", "LIST"))


def test_functions(cluster, gate, reference):
    masters = cluster.masters()
    owners = cluster.slot_owners()
    keys = keys_on_every_range(cluster, "fcall")
    with gate.raw() as gr, reference.raw() as rr:
        assert gr.call("FUNCTION", "FLUSH") == b"OK"
        rr.call("FUNCTION", "FLUSH")
        assert gr.call("FUNCTION", "LOAD", LIBRARY) == b"mylib"
        assert rr.call("FUNCTION", "LOAD", LIBRARY) == b"mylib"
        for m in masters:
            assert _node_libraries(cluster, m) == {b"mylib": [b"myfunc"]}, f"library not on {m}"
        for i, k in enumerate(keys):
            gr.call("SET", k, f"f{i}")
            rr.call("SET", k, f"f{i}")
            assert gr.call("FCALL", "myfunc", "1", k) == f"f{i}".encode(), k
            assert cluster.client(owners[key_slot(k)]).fcall("myfunc", 1, k) == f"f{i}".encode()
            same(gr, rr, "FCALL", "myfunc", "1", k)
            same(gr, rr, "FCALL_RO", "myfunc", "1", k)  # myfunc has no no-writes flag: Redis's error
        assert norm(gr.call("FCALL", "myfunc", "2", keys[0], keys[-1])) == ("error", CROSSSLOT)
        same(gr, rr, "FCALL", "nosuchfunc", "0")
        same(gr, rr, "FCALL", "myfunc", "5", "a")
        assert _libraries(gr.call("FUNCTION", "LIST")) == {b"mylib": [b"myfunc"]}
        assert _libraries(gr.call("FUNCTION", "LIST", "LIBRARYNAME", "my*")) == {b"mylib": [b"myfunc"]}
        # Loading it again fails on every primary (Redis's text first), REPLACE works.
        again = gr.call("FUNCTION", "LOAD", LIBRARY)
        assert isinstance(again, RespError) and str(again).startswith("ERR Library 'mylib' already exists"), again
        assert gr.call("FUNCTION", "LOAD", "REPLACE", LIBRARY) == b"mylib"
        dump = gr.call("FUNCTION", "DUMP")
        assert isinstance(dump, bytes) and dump, dump
        assert gr.call("FUNCTION", "DELETE", "mylib") == b"OK"
        for m in masters:
            assert _node_libraries(cluster, m) == {}, f"mylib still on {m}"
        assert gr.call("FUNCTION", "LIST") == []
        assert norm(gr.call("FCALL", "myfunc", "1", keys[0])) == ("error", "ERR Function not found")
        gone = gr.call("FUNCTION", "DELETE", "mylib")
        assert isinstance(gone, RespError) and str(gone).startswith("ERR Library not found"), gone
        # DUMP from one, RESTORE to all.
        assert gr.call("FUNCTION", "RESTORE", dump) == b"OK"
        for m in masters:
            assert _node_libraries(cluster, m) == {b"mylib": [b"myfunc"]}, f"not restored on {m}"
        assert gr.call("FCALL", "myfunc", "1", keys[1]) == b"f1"
        assert gr.call("FUNCTION", "FLUSH") == b"OK"
        for m in masters:
            assert _node_libraries(cluster, m) == {}, f"FUNCTION FLUSH left mylib on {m}"
        rr.call("FUNCTION", "FLUSH")
        for k in keys:
            gr.call("DEL", k)


# ----------------------------------------------------------------------------------------------
# INFO
# ----------------------------------------------------------------------------------------------

PROXY_FIELDS = ("slotgate_version", "uptime_in_seconds", "threads", "connected_clients",
                "total_commands_processed", "moved_redirects", "ask_redirects", "cluster_nodes",
                "cluster_primaries", "cluster_slots_covered")


def test_info_sections(cluster, gate):
    g = gate.client()
    g.flushall()
    pipe = g.pipeline(transaction=False)
    for i in range(500):
        pipe.set(f"info:{i}", i)
    for i in range(20):
        pipe.set(f"info:ttl:{i}", i, ex=1000)
    pipe.execute()
    with gate.raw() as gr:
        info = info_of(gr)
        titles = [t for t, _ in info]
        for t in ("Server", "Clients", "Memory", "Stats", "Errorstats", "Keyspace", "Proxy"):
            assert t in titles, f"INFO has no '# {t}' section: {titles}"
        assert len(titles) == len(set(titles)), f"a section twice: {titles}"
        server = section(info, "Server")
        assert server.get("redis_mode") == "standalone", server.get("redis_mode")
        node_version = section(info_of(cluster.masters()[0], "server"), "Server")["redis_version"]
        assert server.get("redis_version") == node_version, (server.get("redis_version"), node_version)
        assert int(section(info, "Memory")["used_memory"]) > 0
        ks = section(info, "Keyspace")
        assert "db0" in ks, ks
        db0 = sub_fields(ks["db0"])
        assert int(db0["keys"]) == gr.call("DBSIZE") == 520, (db0, gr.call("DBSIZE"))
        assert int(db0["expires"]) == 20, db0
        proxy = section(info, "Proxy")
        for f in PROXY_FIELDS:
            assert f in proxy, f"# Proxy lacks {f}: {proxy}"
        assert proxy["slotgate_version"], proxy
        assert int(proxy["threads"]) == gate.threads, proxy
        assert int(proxy["cluster_nodes"]) == 6, proxy
        assert int(proxy["cluster_primaries"]) == 3, proxy
        assert int(proxy["cluster_slots_covered"]) == 16384, proxy
        assert int(proxy["uptime_in_seconds"]) >= 0
        assert int(proxy["moved_redirects"]) >= 0 and int(proxy["ask_redirects"]) >= 0
        assert proxy["connected_clients"] == section(info, "Clients")["connected_clients"], (proxy, section(info, "Clients"))
        before = int(proxy["total_commands_processed"])
        for _ in range(25):
            gr.call("PING")
        after = int(section(info_of(gr, "proxy"), "Proxy")["total_commands_processed"])
        assert after >= before + 25, (before, after)
        # Only the asked sections.
        for args, want in ((["keyspace"], ["Keyspace"]), (["KEYSPACE"], ["Keyspace"]), (["proxy"], ["Proxy"]),
                           (["server", "keyspace"], ["Server", "Keyspace"]), (["commandstats"], ["Commandstats"]),
                           (["errorstats"], ["Errorstats"]), (["clients"], ["Clients"])):
            got = [t for t, _ in info_of(gr, *args)]
            assert got == want, f"INFO {' '.join(args)} gave sections {got}, expected {want}"
        everything = [t for t, _ in info_of(gr, "everything")]
        for t in ("Server", "Clients", "Memory", "Stats", "Commandstats", "Errorstats", "Keyspace", "Proxy"):
            assert t in everything, f"INFO everything has no '# {t}': {everything}"
    g.close()


def test_info_connected_clients_are_slotgates_own(cluster, gate):
    gc.collect()
    with gate.raw() as gr:
        def clients():
            return int(section(info_of(gr, "clients"), "Clients")["connected_clients"])
        base = clients()
        extra = [gate.raw() for _ in range(7)]
        try:
            for c in extra:
                assert c.call("PING") == b"PONG"
            assert clients() == base + 7, (base, clients())
        finally:
            for c in extra:
                c.close()
        wait_until(lambda: clients() == base, 5.0, what=f"connected_clients back to {base}")
        proxy = section(info_of(gr, "proxy"), "Proxy")
        assert int(proxy["connected_clients"]) == base


def test_info_commandstats_and_errorstats_summed(cluster, gate):
    g = gate.client()
    for i in range(300):
        g.get(f"cs:{i}")
    g.rpush("cs:list", "x")
    for _ in range(3):
        try:
            g.get("cs:list")
            raise AssertionError("GET on a list should fail")
        except redis.ResponseError as e:
            assert str(e).startswith("WRONGTYPE"), e
    with gate.raw() as gr:
        cs = section(info_of(gr, "commandstats"), "Commandstats")
        direct = sum(node_cmdstat_calls(cluster, m, "get") for m in cluster.masters())
        assert "cmdstat_get" in cs, cs
        calls = int(sub_fields(cs["cmdstat_get"])["calls"])
        assert calls == direct, f"INFO commandstats cmdstat_get calls={calls}, sum over primaries={direct}"
        assert calls >= 303
        es = section(info_of(gr, "errorstats"), "Errorstats")
        direct_wt = 0
        for m in cluster.masters():
            v = section(info_of(m, "errorstats"), "Errorstats").get("errorstat_WRONGTYPE")
            direct_wt += int(sub_fields(v)["count"]) if v else 0
        assert "errorstat_WRONGTYPE" in es, es
        assert int(sub_fields(es["errorstat_WRONGTYPE"])["count"]) == direct_wt >= 3, (es, direct_wt)
        stats = section(info_of(gr, "stats"), "Stats")
        hits = sum(int(section(info_of(m, "stats"), "Stats")["keyspace_hits"])
                   for m in cluster.masters())
        assert int(stats["keyspace_hits"]) == hits, (stats["keyspace_hits"], hits)
        # Keyspace keys= equals DBSIZE at any time.
        ks = sub_fields(section(info_of(gr, "keyspace"), "Keyspace")["db0"])
        assert int(ks["keys"]) == gr.call("DBSIZE"), ks
    g.delete("cs:list")
    g.close()


# ----------------------------------------------------------------------------------------------
# CONFIG
# ----------------------------------------------------------------------------------------------

def _node_config(cluster, node, name):
    return cluster.client(node).config_get(name)[name]


def test_config_get_set(cluster, gate, reference):
    g = gate.client()
    with gate.raw() as gr:
        reply = gr.call("CONFIG", "GET", "maxmemory-policy")
        assert reply == [b"maxmemory-policy", _node_config(cluster, cluster.nodes[0], "maxmemory-policy").encode()], reply
        got = g.config_get("maxmemory*")
        direct = cluster.client(cluster.masters()[0]).config_get("maxmemory*")
        assert got == direct, (got, direct)
        assert gr.call("CONFIG", "GET", "no-such-parameter") == []
        old_policy = _node_config(cluster, cluster.nodes[0], "maxmemory-policy")
        old_len = _node_config(cluster, cluster.nodes[0], "slowlog-max-len")
        old_slower = _node_config(cluster, cluster.nodes[0], "slowlog-log-slower-than")
        try:
            assert gr.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lru") == b"OK"
            for n in cluster.nodes:
                assert _node_config(cluster, n, "maxmemory-policy") == "allkeys-lru", f"not set on {n}"
            assert gr.call("CONFIG", "GET", "maxmemory-policy") == [b"maxmemory-policy", b"allkeys-lru"]
            assert gr.call("CONFIG", "SET", "slowlog-max-len", "77", "slowlog-log-slower-than", "12345") == b"OK"
            for n in cluster.nodes:
                assert _node_config(cluster, n, "slowlog-max-len") == "77", n
                assert _node_config(cluster, n, "slowlog-log-slower-than") == "12345", n
            # Refused by the nodes: Redis's error first, nothing changed anywhere.
            bad = gr.call("CONFIG", "SET", "maxmemory-policy", "bogus")
            assert isinstance(bad, RespError) and str(bad).startswith("ERR CONFIG SET failed"), bad
            bad = gr.call("CONFIG", "SET", "no-such-parameter", "1")
            assert isinstance(bad, RespError) and "no-such-parameter" in str(bad), bad
            for n in cluster.nodes:
                assert _node_config(cluster, n, "maxmemory-policy") == "allkeys-lru", n
            with reference.raw() as rr:
                same(gr, rr, "CONFIG", "SET", "maxmemory-policy")
                same(gr, rr, "CONFIG", "GET")
        finally:
            assert gr.call("CONFIG", "SET", "maxmemory-policy", old_policy, "slowlog-max-len", old_len,
                           "slowlog-log-slower-than", old_slower) == b"OK"
        for n in cluster.nodes:
            assert _node_config(cluster, n, "maxmemory-policy") == old_policy, n
            assert _node_config(cluster, n, "slowlog-max-len") == old_len, n
    g.close()


def test_config_resetstat(cluster, gate):
    g = gate.client()
    for i in range(50):
        g.get(f"rs:{i}")
    for n in cluster.nodes:
        try:
            cluster.client(n).execute_command("GET")
        except redis.ResponseError:
            pass
        assert "errorstat_ERR" in section(info_of(n, "errorstats"), "Errorstats"), n
    assert any(node_cmdstat_calls(cluster, m, "get") > 0 for m in cluster.masters())
    with gate.raw() as gr:
        assert gr.call("CONFIG", "RESETSTAT") == b"OK"
    for n in cluster.nodes:
        es = section(info_of(n, "errorstats"), "Errorstats")
        assert not es, f"errorstats not reset on {n}: {es}"
        assert node_cmdstat_calls(cluster, n, "get") == 0, f"cmdstat_get not reset on {n}"
        assert section(info_of(n, "stats"), "Stats")["total_error_replies"] == "0", n
    g.close()


# ----------------------------------------------------------------------------------------------
# Keyed introspection, TIME
# ----------------------------------------------------------------------------------------------

def test_object_and_memory_by_key(cluster, gate):
    owners = cluster.slot_owners()
    keys = keys_on_every_range(cluster, "obj")
    with gate.raw() as gr:
        for i, k in enumerate(keys):
            owner = RawConnection(owners[key_slot(k)].port)
            try:
                kind = i % 4
                gr.call("DEL", k)
                if kind == 0:
                    gr.call("SET", k, "12345")
                elif kind == 1:
                    gr.call("SET", k, "hello")
                elif kind == 2:
                    gr.call("RPUSH", k, "a", "b", "c")
                else:
                    gr.call("HSET", k, "f", "x" * 100)
                for args in (["OBJECT", "ENCODING", k], ["OBJECT", "REFCOUNT", k], ["MEMORY", "USAGE", k],
                             ["MEMORY", "USAGE", k, "SAMPLES", "0"], ["OBJECT", "FREQ", k],
                             ["OBJECT", "ENCODING", k + ":missing"], ["MEMORY", "USAGE", k + ":missing"],
                             ["TYPE", k]):
                    gv, ov = norm(gr.call(*args)), norm(owner.call(*args))
                    assert gv == ov, f"{args}: slotgate {gv!r}, owner {ov!r}"
                idle = gr.call("OBJECT", "IDLETIME", k)
                assert isinstance(idle, int) and 0 <= idle < 100, idle
                assert gr.call("OBJECT", "ENCODING", k) not in (None, b"")
                gr.call("DEL", k)
            finally:
                owner.close()


def test_time_and_lastsave(cluster, gate, reference):
    with gate.raw() as gr:
        t = gr.call("TIME")
        assert isinstance(t, list) and len(t) == 2, t
        sec, usec = int(t[0]), int(t[1])
        assert abs(sec - time.time()) < 5, (sec, time.time())
        assert 0 <= usec < 1_000_000
        ls = gr.call("LASTSAVE")
        assert isinstance(ls, int) and 0 < ls <= time.time() + 5, ls
        with reference.raw() as rr:
            same(gr, rr, "TIME", "x")


def test_pipelined_keyspace_commands(cluster, gate, reference):
    """Fan-out, split and single-slot commands pipelined on one connection: replies in order."""
    keys = [f"pk:{i}" for i in range(200)]
    mset = ["MSET"]
    for i, k in enumerate(keys):
        mset += [k, str(i)]
    commands = [["FLUSHALL"], ["DBSIZE"], mset, ["DBSIZE"], ["KEYS", "pk:1?"], ["EXISTS", *keys[:50]],
                ["SCRIPT", "LOAD", GET_SCRIPT], ["EVALSHA", hashlib.sha1(GET_SCRIPT.encode()).hexdigest(), "1", keys[7]],
                ["DEL", *keys[:100]], ["DBSIZE"], ["RANDOMKEY"], ["MGET", *keys[95:105]], ["FLUSHDB"], ["DBSIZE"],
                ["RANDOMKEY"], ["KEYS", "*"], ["SCRIPT", "EXISTS", hashlib.sha1(GET_SCRIPT.encode()).hexdigest()],
                ["SCRIPT", "FLUSH"], ["SET", "pk:last", "1"], ["DBSIZE"], ["KEYS", "*"], ["GET", "pk:last"]]
    data = b"".join(encode_command(*c) for c in commands)
    with gate.raw() as gr, reference.raw() as rr:
        for _ in range(3):
            gr.send(data)
            rr.send(data)
            gs = [norm(gr.read_reply()) for _ in commands]
            rs = [norm(rr.read_reply()) for _ in commands]
            for c, gv, rv in zip(commands, gs, rs):
                if c[0] == "KEYS":
                    gv, rv = sorted(gv), sorted(rv)
                if c[0] == "RANDOMKEY" and gv is not None:
                    assert gv.startswith(b"pk:") and rv is not None, (gv, rv)
                    continue
                assert gv == rv, f"{c[:4]}...: slotgate {gv!r}, redis {rv!r}"
        gr.call("FLUSHALL")
        rr.call("FLUSHALL")


# ----------------------------------------------------------------------------------------------
# The one-node cluster slotgate presents
# ----------------------------------------------------------------------------------------------

def test_cluster_presentation(cluster, gate):
    with gate.raw() as gr:
        assert gr.call("FLUSHALL") == b"OK"
        myid = gr.call("CLUSTER", "MYID")
        assert isinstance(myid, bytes) and re.fullmatch(rb"[0-9a-f]{40}", myid), myid
        info = gr.call("CLUSTER", "INFO").decode()
        fields = dict(line.split(":", 1) for line in info.split("\r\n") if ":" in line)
        for k, v in (("cluster_state", "ok"), ("cluster_slots_assigned", "16384"), ("cluster_slots_ok", "16384"),
                     ("cluster_known_nodes", "1"), ("cluster_size", "1")):
            assert fields.get(k) == v, f"CLUSTER INFO {k}={fields.get(k)!r}, expected {v}: {info!r}"
        slots = gr.call("CLUSTER", "SLOTS")
        assert isinstance(slots, list) and len(slots) == 1, slots
        entry = slots[0]
        assert entry[0] == 0 and entry[1] == 16383 and len(entry) == 3, entry
        node = entry[2]
        assert node[:3] == [HOST.encode(), gate.port, myid], node
        assert len(node) == 3 or (len(node) == 4 and node[3] == []), node
        shards = gr.call("CLUSTER", "SHARDS")
        assert isinstance(shards, list) and len(shards) == 1, shards
        shard = dict(zip(shards[0][::2], shards[0][1::2]))
        assert shard[b"slots"] == [0, 16383], shard
        assert len(shard[b"nodes"]) == 1, shard
        n = dict(zip(shard[b"nodes"][0][::2], shard[b"nodes"][0][1::2]))
        assert n[b"id"] == myid and n[b"port"] == gate.port and n[b"ip"] == HOST.encode(), n
        assert n[b"role"] == b"master" and n.get(b"health") == b"online", n
        nodes = gr.call("CLUSTER", "NODES").decode()
        lines = nodes.strip().splitlines()
        assert len(lines) == 1, nodes
        f = lines[0].split()
        assert f[0] == myid.decode(), f
        assert f[1].split("@")[0] == f"{HOST}:{gate.port}", f
        assert f[2] == "myself,master" and f[3] == "-", f
        assert f[7] == "connected" and f[8:] == ["0-16383"], f
        # KEYSLOT as a real node computes it.
        real = cluster.client(cluster.masters()[0])
        for k in ["foo", "{user1000}.following", "a{}b", "{}", "x{", b"\x00\xff\r\n", ""]:
            assert gr.call("CLUSTER", "KEYSLOT", k) == real.execute_command("CLUSTER", "KEYSLOT", k), k
        # COUNTKEYSINSLOT: the real count, from the slot's owner.
        owners = cluster.slot_owners()
        for port, ss in sorted(slots_by_master(cluster).items()):
            for s, n_keys in ((ss[3], 5), (ss[-2], 1), (ss[len(ss) // 3], 0)):
                for j in range(n_keys):
                    gr.call("SET", skey(s, f"cnt{j}"), j)
                got = gr.call("CLUSTER", "COUNTKEYSINSLOT", s)
                direct = cluster.client(owners[s]).execute_command("CLUSTER", "COUNTKEYSINSLOT", s)
                assert got == direct == n_keys, f"slot {s}: slotgate {got!r}, owner {direct!r}, wrote {n_keys}"
                for j in range(n_keys):
                    gr.call("DEL", skey(s, f"cnt{j}"))
        assert gr.call("READONLY") == b"OK"
        assert gr.call("READWRITE") == b"OK"
        assert gr.call("PING") == b"PONG"


def test_redis_py_cluster_client(cluster, gate):
    # redis-py's RedisCluster first checks INFO's cluster_enabled, then asks CLUSTER SLOTS.
    with gate.raw() as gr:
        enabled = section(info_of(gr), "Cluster").get("cluster_enabled")
    assert enabled == "1", (f"slotgate's INFO says cluster_enabled:{enabled}; cluster clients "
                            f"(redis-py RedisCluster) refuse a node without cluster_enabled:1")
    rc = redis.cluster.RedisCluster(host=HOST, port=gate.port, socket_timeout=30)
    try:
        nodes = rc.get_nodes()
        assert [(n.host, n.port) for n in nodes] == [(HOST, gate.port)], nodes
        owners = cluster.slot_owners()
        keys = [f"rc:{i}" for i in range(300)]
        for i, k in enumerate(keys):
            assert rc.set(k, f"c{i}") is True
        for i, k in enumerate(keys):
            assert rc.get(k) == f"c{i}".encode(), k
        for k in keys[::30]:
            assert cluster.client(owners[key_slot(k)]).get(k) == rc.get(k), k
        assert rc.mget_nonatomic(keys) == [f"c{i}".encode() for i in range(300)]
        tagged = [f"{{rctag}}:{i}" for i in range(10)]
        assert rc.mset({k: k for k in tagged}) is True
        assert rc.mget(tagged) == [k.encode() for k in tagged]
        assert all(rc.mset_nonatomic({k: "n" + k for k in keys[:50]}))
        assert rc.mget_nonatomic(keys[:50]) == [("n" + k).encode() for k in keys[:50]]
        # Still only slotgate: no redirect ever sent the client to a real node.
        addrs = sorted(rc.nodes_manager.nodes_cache.keys())
        assert addrs == [f"{HOST}:{gate.port}"], addrs
        assert rc.delete(*keys, *tagged) == 310
    finally:
        rc.close()


# ----------------------------------------------------------------------------------------------
# Refused commands (last: a slotgate that forwarded SHUTDOWN would take a node down)
# ----------------------------------------------------------------------------------------------

def test_unsupported_commands(cluster, gate):
    cases = [
        (["MONITOR"], "monitor"),
        (["SYNC"], "sync"),
        (["PSYNC", "?", "-1"], "psync"),
        (["REPLICAOF", "NO", "ONE"], "replicaof"),
        (["SLAVEOF", "NO", "ONE"], "slaveof"),
        (["DEBUG", "SLEEP", "0"], "debug"),
        (["debug", "object", "x"], "debug"),
        (["CLUSTER", "MEET", "127.0.0.1", "1"], "cluster meet"),
        (["CLUSTER", "ADDSLOTS", "1"], "cluster addslots"),
        (["CLUSTER", "ADDSLOTSRANGE", "1", "2"], "cluster addslotsrange"),
        (["CLUSTER", "DELSLOTS", "1"], "cluster delslots"),
        (["CLUSTER", "DELSLOTSRANGE", "1", "2"], "cluster delslotsrange"),
        (["cluster", "setslot", "1", "STABLE"], "cluster setslot"),
        (["CLUSTER", "SetSlot", "1", "NODE", "x" * 40], "cluster setslot"),
        (["CLUSTER", "FAILOVER"], "cluster failover"),
        (["CLUSTER", "FAILOVER", "FORCE"], "cluster failover"),
        (["CLUSTER", "FORGET", "x" * 40], "cluster forget"),
        (["CLUSTER", "RESET", "HARD"], "cluster reset"),
        (["CLUSTER", "REPLICATE", "x" * 40], "cluster replicate"),
        (["CLUSTER", "FLUSHSLOTS"], "cluster flushslots"),
        (["CLUSTER", "BUMPEPOCH"], "cluster bumpepoch"),
        (["CLUSTER", "SET-CONFIG-EPOCH", "1"], "cluster set-config-epoch"),
        (["SHUTDOWN"], "shutdown"),
        (["SHUTDOWN", "NOSAVE"], "shutdown"),
    ]
    with gate.raw() as gr:
        for cmd, name in cases:
            got = norm(gr.call(*cmd))
            want = ("error", f"ERR command '{name}' is not supported by slotgate")
            assert got == want, f"{cmd}: {got!r}, expected {want!r}"
            assert gr.call("PING") == b"PONG", cmd
        assert gr.call("SET", "after:unsupported", "1") == b"OK"
        assert gr.call("DEL", "after:unsupported") == 1
    for n in cluster.nodes:
        assert n.proc.poll() is None, f"{n} exited"
    cluster.wait_stable(10)
    assert gate.alive()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, *sys.argv[1:]]))
