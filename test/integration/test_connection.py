"""Connection state through slotgate: AUTH against configured users, HELLO 2/3 and RESP3 replies
byte for byte as a standalone Redis sends them, CLIENT SETNAME/GETNAME/ID/INFO/LIST/KILL/NO-EVICT/
SETINFO about slotgate's own clients, RESET, and backend credentials for password-protected nodes.

Two slotgates run in front of the same cluster: `gate` without users (compared with a reference
redis-server) and `users_gate`, started from a config file with users.
"""

import hashlib
import subprocess
import sys

import pytest

from cluster import HOST, RespError, slotgate_binary, wait_until
from state_helpers import ConfiguredSlotgate, call3, key_on, live_nodes, map_dict

NOAUTH = "NOAUTH Authentication required."
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."

USERS_YAML = f"""
users:
  - {{name: default, password: "defpw", permissions: read-write}}
  - {{name: admin, password: "adminpw", permissions: admin}}
  - {{name: reader, password_sha256: "{hashlib.sha256(b'readerpw').hexdigest()}", permissions: read-only}}
  - {{name: app, password: "apppw", permissions: read-write, key_prefixes: ["app:", "{{app}}"]}}
"""


class LazyGate:
    """A ConfiguredSlotgate started on first use, so a config problem fails only its tests."""

    def __init__(self, cluster, config_text, probe_auth):
        self.cluster, self.config_text, self.probe_auth = cluster, config_text, probe_auth
        self.gate = None
        self.error = None

    def get(self):
        if self.error:
            raise AssertionError(f"slotgate with users did not start: {self.error}")
        if self.gate is None:
            g = ConfiguredSlotgate(slotgate_binary(), self.cluster.seeds(), self.config_text,
                                   probe_auth=self.probe_auth)
            try:
                g.__enter__()
            except Exception as e:
                self.error = repr(e)
                raise
            self.gate = g
        return self.gate

    def check_alive(self):
        if self.gate is not None:
            self.gate.check_alive()

    def close(self):
        if self.gate is not None:
            self.gate.__exit__(None, None, None)


@pytest.fixture(scope="module")
def users_gate(cluster):
    lazy = LazyGate(cluster, USERS_YAML, ("admin", "adminpw"))
    yield lazy
    lazy.close()


def err(x):
    return str(x) if isinstance(x, RespError) else None


# ----------------------------------------------------------------------------------------------
# AUTH with users
# ----------------------------------------------------------------------------------------------

def test_noauth_before_auth(users_gate):
    g = users_gate.get()
    with g.raw() as c:
        assert err(c.call("GET", "app:x")) == NOAUTH
        assert err(c.call("SET", "app:x", "1")) == NOAUTH
        assert err(c.call("CLIENT", "SETNAME", "x")) == NOAUTH
        assert err(c.call("MULTI")) == NOAUTH
        assert err(c.call("SUBSCRIBE", "ch")) == NOAUTH
        assert c.call("PING") == b"PONG"
        assert err(c.call("GET", "app:x")) == NOAUTH
        assert c.call("QUIT") == b"OK"
        assert c.at_eof()
    with g.raw() as c:  # HELLO with AUTH logs in and switches protocol at once
        v, raw = call3(c, "HELLO", 3, "AUTH", "app", "apppw")
        d = map_dict(v)
        assert d[b"proto"] == 3 and d[b"mode"] == b"standalone", v
        assert call3(c, "SET", "app:hello", "1")[1] == b"+OK\r\n"
        assert call3(c, "GET", "app:none")[1] == b"_\r\n"


def test_wrong_password(users_gate):
    g = users_gate.get()
    with g.raw() as c:
        assert err(c.call("AUTH", "admin", "nope")) == WRONGPASS
        assert err(c.call("AUTH", "nobody", "adminpw")) == WRONGPASS
        assert err(c.call("AUTH", "wrongdefault")) == WRONGPASS
        assert err(c.call("AUTH", "reader", "READERPW")) == WRONGPASS
        assert err(c.call("HELLO", 2, "AUTH", "admin", "nope")) == WRONGPASS
        assert err(c.call("GET", "k")) == NOAUTH
        assert c.call("AUTH", "admin", "adminpw") == b"OK"
        # A failed AUTH later does not log the client out (as in Redis).
        assert err(c.call("AUTH", "admin", "nope")) == WRONGPASS
        assert c.call("SET", "k:after", "1") == b"OK"


def test_users_and_permissions(cluster, users_gate):
    g = users_gate.get()
    keys = [key_on(cluster, m, "auth:k") for m in cluster.masters()]
    with g.raw() as c:
        assert c.call("AUTH", "defpw") == b"OK"  # the "default" user
        for k in keys:
            assert c.call("SET", k, "dv") == b"OK"
        assert c.call("MGET", *keys) == [b"dv"] * 3
        assert (err(c.call("KEYS", "*")) or "").startswith("NOPERM"), "KEYS is admin-only"

        assert c.call("AUTH", "reader", "readerpw") == b"OK"
        assert c.call("GET", keys[0]) == b"dv"
        assert c.call("MGET", *keys) == [b"dv"] * 3
        for cmd in (["SET", keys[0], "x"], ["DEL", keys[1]], ["INCR", keys[2]], ["MSET", keys[0], "a", keys[1], "b"],
                    ["FLUSHALL"]):
            e = err(c.call(*cmd))
            assert e and e.startswith("NOPERM"), f"read-only user ran {cmd}: {e}"
        assert c.call("MGET", *keys) == [b"dv"] * 3

        assert c.call("AUTH", "app", "apppw") == b"OK"
        assert c.call("SET", "app:x", "1") == b"OK"
        assert c.call("SET", "{app}y", "2") == b"OK"
        assert c.call("GET", "app:x") == b"1"
        assert c.call("MGET", "app:x", "{app}y") == [b"1", b"2"]
        for cmd in (["GET", keys[0]], ["SET", "other:x", "1"], ["MGET", "app:x", "other:y"],
                    ["DEL", "app:x", "nope:z"]):
            e = err(c.call(*cmd))
            assert e and e.startswith("NOPERM"), f"app user reached a key outside its prefixes: {cmd}: {e}"
        assert c.call("GET", "app:x") == b"1"

        assert c.call("AUTH", "admin", "adminpw") == b"OK"
        assert c.call("GET", keys[0]) == b"dv"
        assert isinstance(c.call("KEYS", "app:*"), list)
    assert cluster.client(cluster.owner_of(keys[0])).get(keys[0]) == b"dv"


def test_reset_logs_out(users_gate):
    g = users_gate.get()
    with g.raw() as c:
        assert c.call("AUTH", "admin", "adminpw") == b"OK"
        assert c.call("GET", "app:r") is None
        assert c.call("RESET") == b"RESET"
        assert err(c.call("GET", "app:r")) == NOAUTH
        assert c.call("AUTH", "app", "apppw") == b"OK"
        assert c.call("GET", "app:r") is None


def test_hello_auth_setname(users_gate):
    g = users_gate.get()
    with g.raw() as c:
        v = c.call("HELLO", 2, "AUTH", "app", "apppw", "SETNAME", "worker-1")
        assert isinstance(v, list) and len(v) == 14 and v[4:6] == [b"proto", 2], v
        assert c.call("CLIENT", "GETNAME") == b"worker-1"


# ----------------------------------------------------------------------------------------------
# No users: AUTH as a standalone Redis without a password
# ----------------------------------------------------------------------------------------------

def test_auth_without_users_like_redis(gate, reference):
    with gate.raw() as g, reference.raw() as r:
        for cmd in (["AUTH", "pw"], ["AUTH", "someone", "pw"], ["AUTH"], ["HELLO", 3, "AUTH", "x", "y"]):
            (_, graw), (_, rraw) = call3(g, *cmd), call3(r, *cmd)
            assert graw == rraw, f"{cmd}: slotgate {graw!r}, redis {rraw!r}"
        assert g.call("SET", "{noauth}k", "1") == b"OK"


# ----------------------------------------------------------------------------------------------
# HELLO and RESP3
# ----------------------------------------------------------------------------------------------

def test_hello(cluster, gate):
    version = cluster.client(cluster.masters()[0]).info("server")["redis_version"]
    with gate.raw() as c:
        cid = c.call("CLIENT", "ID")
        assert isinstance(cid, int), cid
        v, raw = call3(c, "HELLO", 3)
        assert isinstance(v, tuple) and v[0] == "map", raw
        keys = [k for k, _ in v[1]]
        assert keys == [b"server", b"version", b"proto", b"id", b"mode", b"role", b"modules"], keys
        d = map_dict(v)
        assert d[b"proto"] == 3 and d[b"id"] == cid and d[b"mode"] == b"standalone", d
        assert d[b"role"] == b"master" and isinstance(d[b"modules"], list), d
        assert d[b"version"] == str(version).encode(), (d[b"version"], version)
        assert raw.startswith(b"%7\r\n"), raw
        # In RESP3 now: nulls are _, HELLO without a version answers in the current protocol.
        assert call3(c, "GET", "hello:missing")[1] == b"_\r\n"
        v, raw = call3(c, "HELLO")
        assert raw.startswith(b"%7\r\n") and map_dict(v)[b"proto"] == 3, raw
        v, raw = call3(c, "HELLO", 2)
        assert isinstance(v, list) and len(v) == 14, v
        d = map_dict(v)
        assert d[b"proto"] == 2 and d[b"id"] == cid and d[b"role"] == b"master", d
        assert raw.startswith(b"*14\r\n")
        assert call3(c, "GET", "hello:missing")[1] == b"$-1\r\n"
        v, raw = call3(c, "HELLO", 4)
        assert raw == b"-NOPROTO unsupported protocol version\r\n", raw
        v, raw = call3(c, "HELLO", "x")
        assert raw == b"-ERR Protocol version is not an integer or out of range\r\n", raw
        assert call3(c, "GET", "hello:missing")[1] == b"$-1\r\n"  # still RESP2


def _setup_data(c, t):
    """The same data on one side (a RawConnection): keys in several slots."""
    keys = [f"r3:{t}:{i}" for i in range(6)]
    cmds = [["DEL", *[f"{{r3{t}}}:{n}" for n in ("h", "si", "ss", "z", "z2", "s", "l", "f", "str")]],
            ["DEL", *keys],
            ["HSET", f"{{r3{t}}}:h", "f1", "v1", "f2", "v2", "f3", "3"],
            ["SADD", f"{{r3{t}}}:si", 3, 1, 2, 10],
            ["SADD", f"{{r3{t}}}:ss", "a", "b", "c"],
            ["ZADD", f"{{r3{t}}}:z", 1, "a", 2.5, "b", -3, "c"],
            ["ZADD", f"{{r3{t}}}:z2", 1, "a", 4, "d"],
            ["XADD", f"{{r3{t}}}:s", "1-1", "a", "1"],
            ["XADD", f"{{r3{t}}}:s", "2-1", "b", "2", "c", "3"],
            ["RPUSH", f"{{r3{t}}}:l", "a", "b", "c", "a", "b", "a"],
            ["SET", f"{{r3{t}}}:f", "1.5"],
            ["SET", f"{{r3{t}}}:str", "hello"],
            ["SET", keys[0], "v0"], ["SET", keys[2], "v2"], ["SET", keys[4], "v4"]]
    for cmd in cmds:
        v, _ = call3(c, *cmd)
        assert not isinstance(v, RespError), (cmd, v)
    return keys


def _resp3_commands(t, keys):
    h, si, z, z2, s, l, f, st = (f"{{r3{t}}}:{n}" for n in ("h", "si", "z", "z2", "s", "l", "f", "str"))
    return [
        ["HGETALL", h], ["HGET", h, "f1"], ["HGET", h, "none"], ["HMGET", h, "f1", "none", "f3"],
        ["HRANDFIELD", h, 10, "WITHVALUES"], ["HRANDFIELD", h, 10], ["HGETALL", "r3:none"],
        ["SMEMBERS", si], ["SISMEMBER", si, 2], ["SMISMEMBER", si, 1, 7], ["SMEMBERS", "r3:none"],
        ["ZRANGE", z, 0, -1, "WITHSCORES"], ["ZRANGE", z, 0, -1], ["ZSCORE", z, "b"], ["ZSCORE", z, "none"],
        ["ZMSCORE", z, "a", "none", "c"], ["ZINCRBY", z2, 0.25, "a"], ["ZRANDMEMBER", z, 10, "WITHSCORES"],
        ["ZUNION", 2, z, z2, "WITHSCORES"], ["ZPOPMIN", z2], ["ZPOPMAX", z2, 5], ["ZRANK", z, "none"],
        ["GET", "r3:missing"], ["GET", st], ["MGET", *keys], ["MGET", keys[1], keys[3]],
        ["EXISTS", *keys, "r3:none"], ["TYPE", h], ["TTL", st], ["INCRBYFLOAT", f, "0.25"],
        ["CONFIG", "GET", "maxmemory"],
        ["XRANGE", s, "-", "+"], ["XREVRANGE", s, "+", "-", "COUNT", 1], ["XRANGE", s, "5", "+"],
        ["LPOS", l, "a"], ["LPOS", l, "a", "COUNT", 0], ["LPOS", l, "zz"], ["LPOS", l, "b", "RANK", -1],
        ["LRANGE", l, 0, -1], ["LPOP", "r3:none"], ["LPOP", "r3:none", 2], ["LMPOP", 2, l + ":no1", l, "LEFT"],
        ["BLPOP", "r3:none", 0.1], ["GET", h], ["HGET", st, "x"],
        ["EVAL", "redis.setresp(3); return redis.call('hgetall', KEYS[1])", 1, h],
        ["EVAL", "return {1, 'two', {3, false}}", 0],
        ["EVAL", "redis.setresp(3); return redis.call('zscore', KEYS[1], 'b')", 1, z],
        ["MULTI"], ["HGETALL", h], ["ZSCORE", z, "b"], ["GET", h + ":missing"], ["SMEMBERS", si],
        ["HGET", h, "none"], ["EXEC"],
        ["BZPOPMIN", z, 1], ["BZPOPMAX", z, 1], ["BZMPOP", 1, 1, z, "MIN"], ["BLMPOP", 1, 1, l, "RIGHT"],
        ["DEL", *keys, keys[0]], ["EXISTS", *keys],
    ]


def test_resp3_replies_like_redis(gate, reference):
    with gate.raw() as g, reference.raw() as r:
        for c in (g, r):
            v, _ = call3(c, "HELLO", 3)
            assert map_dict(v)[b"proto"] == 3
        keys = _setup_data(g, "a")
        _setup_data(r, "a")
        diffs = []
        for cmd in _resp3_commands("a", keys):
            gv, graw = call3(g, *cmd)
            rv, rraw = call3(r, *cmd)
            if graw != rraw:
                diffs.append(f"{cmd}:\n  slotgate: {graw!r}\n  redis:    {rraw!r}")
        # A set of strings: same members, as a RESP3 set (order is the server's hash order).
        gv, graw = call3(g, "SMEMBERS", "{r3a}:ss")
        rv, rraw = call3(r, "SMEMBERS", "{r3a}:ss")
        assert gv[0] == rv[0] == "set" and sorted(gv[1]) == sorted(rv[1]), (graw, rraw)
        assert not diffs, f"{len(diffs)} RESP3 replies differ:\n" + "\n".join(diffs)


def test_resp2_after_resp3_like_redis(gate, reference):
    """The same commands in RESP2 (HELLO 2 after HELLO 3): the replies switch back exactly."""
    with gate.raw() as g, reference.raw() as r:
        for c in (g, r):
            call3(c, "HELLO", 3)
            call3(c, "HELLO", 2)
        keys = _setup_data(g, "b")
        _setup_data(r, "b")
        diffs = []
        for cmd in _resp3_commands("b", keys):
            gv, graw = call3(g, *cmd)
            rv, rraw = call3(r, *cmd)
            if graw != rraw:
                diffs.append(f"{cmd}:\n  slotgate: {graw!r}\n  redis:    {rraw!r}")
        assert not diffs, f"{len(diffs)} RESP2 replies differ:\n" + "\n".join(diffs)


def _cli(port, *args):
    res = subprocess.run(["redis-cli", "-3", "-h", HOST, "-p", str(port), *[str(a) for a in args]],
                         capture_output=True, timeout=20, stdin=subprocess.DEVNULL)
    return res.returncode, res.stdout.decode(errors="replace"), res.stderr.decode(errors="replace")


def test_redis_cli_resp3_like_redis(gate, reference):
    with gate.raw() as g, reference.raw() as r:
        keys = _setup_data(g, "c")
        _setup_data(r, "c")
    cmds = [["HGETALL", "{r3c}:h"], ["ZRANGE", "{r3c}:z", 0, -1, "WITHSCORES"], ["ZSCORE", "{r3c}:z", "b"],
            ["GET", "r3:missing"], ["MGET", *keys], ["CONFIG", "GET", "maxmemory"], ["SMEMBERS", "{r3c}:si"],
            ["XRANGE", "{r3c}:s", "-", "+"], ["LPOS", "{r3c}:l", "a", "COUNT", 0], ["HGET", "{r3c}:h", "none"],
            ["EXISTS", *keys]]
    for cmd in cmds:
        got, want = _cli(gate.port, *cmd), _cli(reference.port, *cmd)
        assert got == want, f"redis-cli -3 {cmd}:\n  slotgate: {got!r}\n  redis:    {want!r}"
    rc, out, _ = _cli(gate.port, "HELLO", 3)
    assert rc == 0 and "proto" in out and "standalone" in out, out


# ----------------------------------------------------------------------------------------------
# CLIENT
# ----------------------------------------------------------------------------------------------

def _client_list(c, *extra):
    text = c.call("CLIENT", "LIST", *extra)
    assert isinstance(text, bytes), text
    out = []
    for line in text.decode().splitlines():
        d = dict(f.split("=", 1) for f in line.split(" ") if "=" in f)
        out.append(d)
    return out


def test_client_name_id_info(gate):
    with gate.raw() as c, gate.raw() as other:
        assert c.call("CLIENT", "GETNAME") is None
        cid, oid = c.call("CLIENT", "ID"), other.call("CLIENT", "ID")
        assert isinstance(cid, int) and isinstance(oid, int) and cid != oid, (cid, oid)
        assert c.call("CLIENT", "ID") == cid
        assert c.call("CLIENT", "SETNAME", "first-name") == b"OK"
        assert c.call("CLIENT", "GETNAME") == b"first-name"
        info = c.call("CLIENT", "INFO").decode()
        assert f"id={cid} " in info and " name=first-name " in info, info
        assert info.endswith("\n") and info.count("\n") == 1, info
        entries = {e["id"]: e for e in _client_list(c)}
        assert str(cid) in entries and str(oid) in entries, entries.keys()
        assert entries[str(cid)]["name"] == "first-name" and entries[str(oid)]["name"] == ""
        assert entries[str(cid)]["cmd"].startswith("client"), entries[str(cid)]
        only = _client_list(c, "ID", oid)
        assert [e["id"] for e in only] == [str(oid)], only
        # As Redis: no spaces; an empty name clears it.
        e = c.call("CLIENT", "SETNAME", "a b")
        assert err(e) == "ERR Client names cannot contain spaces, newlines or special characters.", e
        assert c.call("CLIENT", "GETNAME") == b"first-name"
        assert c.call("CLIENT", "SETNAME", "") == b"OK"
        assert c.call("CLIENT", "GETNAME") is None
        assert c.call("CLIENT", "NO-EVICT", "on") == b"OK"
        assert c.call("CLIENT", "NO-EVICT", "off") == b"OK"
        assert err(c.call("CLIENT", "NO-EVICT", "maybe")) == "ERR syntax error"
        assert c.call("CLIENT", "SETINFO", "lib-name", "mylib") == b"OK"
        assert c.call("CLIENT", "SETINFO", "lib-ver", "1.2.3") == b"OK"


def test_client_list_shows_all_clients(gate):
    """Clients land on different worker threads; CLIENT LIST on any one shows them all."""
    conns = [gate.raw() for _ in range(8)]
    try:
        ids = []
        for i, c in enumerate(conns):
            assert c.call("CLIENT", "SETNAME", f"lister-{i}") == b"OK"
            ids.append(c.call("CLIENT", "ID"))
        for c in conns:
            names = {e["name"]: e["id"] for e in _client_list(c)}
            for i, cid in enumerate(ids):
                assert names.get(f"lister-{i}") == str(cid), (i, names)
        for c in conns[4:]:
            c.close()
        wait_until(lambda: not any(e["name"] in {f"lister-{i}" for i in range(4, 8)}
                                   for e in _client_list(conns[0])), 5, what="closed clients to leave CLIENT LIST")
        names = {e["name"] for e in _client_list(conns[0])}
        assert {f"lister-{i}" for i in range(4)} <= names, names
        # redis-py's helpers on top of these commands.
        r = gate.client()
        r.client_setname("py-client")
        assert r.client_getname() == "py-client" or r.client_getname() == b"py-client"
        assert isinstance(r.client_id(), int)
        assert any(e.get("name") == "py-client" for e in r.client_list())
    finally:
        for c in conns:
            c.close()


def test_client_kill(gate):
    with gate.raw() as c:
        victims = [gate.raw() for _ in range(4)]
        try:
            for v in victims:  # some of them on the other worker thread
                vid = v.call("CLIENT", "ID")
                assert c.call("CLIENT", "KILL", "ID", vid) == 1
                assert v.at_eof(3), f"client {vid} still open after CLIENT KILL ID"
            assert c.call("CLIENT", "KILL", "ID", 987654321) == 0
            with gate.raw() as v:
                # A reply proves the server accepted the connection (connect() returns as soon as
                # the kernel completed the handshake, for Redis as well).
                assert v.call("PING") == b"PONG"
                laddr = "%s:%d" % v.sock.getsockname()
                assert c.call("CLIENT", "KILL", laddr) == b"OK"
                assert v.at_eof(3)
            assert err(c.call("CLIENT", "KILL", "127.0.0.1:1")) == "ERR No such client"
            assert c.call("PING") == b"PONG"
        finally:
            for v in victims:
                v.close()


def test_reset_like_redis(gate, reference):
    with gate.raw() as g, reference.raw() as r:
        def same(*args):
            gv, graw = call3(g, *args)
            rv, rraw = call3(r, *args)
            assert graw == rraw, f"{args}:\n  slotgate: {graw!r}\n  redis:    {rraw!r}"
            return gv

        same("DEL", "{rst}k")
        same("CLIENT", "SETNAME", "resetme")
        for c in (g, r):
            call3(c, "HELLO", 3)
        same("MULTI")
        same("SET", "{rst}k", "1")
        assert same("RESET") == b"RESET"
        assert same("CLIENT", "GETNAME") is None
        assert same("GET", "{rst}k") is None  # RESP2 again ($-1) and the transaction is gone
        assert err(same("EXEC")) == "ERR EXEC without MULTI"
        same("SUBSCRIBE", "rst:ch")
        assert same("RESET") == b"RESET"
        assert same("GET", "{rst}k") is None  # out of subscribed mode
    # RESET forgets WATCH: a change after it does not abort the next transaction.
    with gate.raw() as g:
        assert g.call("WATCH", "{rst}k") == b"OK"
        assert g.call("RESET") == b"RESET"
        gate.client().set("{rst}k", "changed")
        assert g.call("MULTI") == b"OK"
        assert g.call("SET", "{rst}k", "from-tx") == b"QUEUED"
        assert g.call("EXEC") == [b"OK"]
        assert g.call("GET", "{rst}k") == b"from-tx"


# ----------------------------------------------------------------------------------------------
# Backend credentials (last: it sets a password on every node, then removes it)
# ----------------------------------------------------------------------------------------------

PW = "backend-Secret-81"


def _with_node_password(cluster, fn):
    nodes = live_nodes(cluster)
    authed = {n.port: cluster.client(n, password=PW, socket_timeout=10) for n in nodes}
    for n in nodes:
        cluster.client(n).config_set("masterauth", PW)
    for n in nodes:
        cluster.client(n).config_set("requirepass", PW)
    try:
        return fn(authed)
    finally:
        for n in nodes:
            authed[n.port].config_set("requirepass", "")
            authed[n.port].config_set("masterauth", "")
            authed[n.port].close()


def test_backend_credentials(cluster):
    def run(authed):
        # Without credentials slotgate cannot reach the nodes: its clients get errors.
        m0 = cluster.masters()[0]
        try:
            cluster.client(m0, socket_timeout=5).ping()
            raise AssertionError("the nodes do not require a password")
        except Exception as e:
            assert "NOAUTH" in str(e) or "Authentication" in str(e), e
        config = f'backend:\n  password: "{PW}"\n'
        with ConfiguredSlotgate(slotgate_binary(), cluster.seeds(), config) as g:
            r = g.client()
            keys = [key_on(cluster, m, "bauth:k") for m in cluster.masters()]
            for i, k in enumerate(keys):
                assert r.set(k, f"v{i}") is True
            assert r.mget(keys) == [b"v0", b"v1", b"v2"]
            for i, (k, m) in enumerate(zip(keys, cluster.masters())):
                assert authed[m.port].get(k) == f"v{i}".encode()
            assert r.ping() is True
        config = f'backend:\n  user: default\n  password: "{PW}"\n'
        with ConfiguredSlotgate(slotgate_binary(), cluster.seeds(), config) as g:
            assert g.client().get(keys[0]) == b"v0"
    _with_node_password(cluster, run)


def test_backend_password_not_visible(cluster):
    def run(authed):
        config = f'backend:\n  password: "{PW}"\n'
        with ConfiguredSlotgate(slotgate_binary(), cluster.seeds(), config) as g:
            with g.raw() as c:
                seen = []
                for cmd in (["CONFIG", "GET", "requirepass"], ["CONFIG", "GET", "masterauth"],
                            ["CONFIG", "GET", "*"], ["CLIENT", "LIST"], ["CLIENT", "INFO"], ["INFO", "all"],
                            ["HELLO", 2], ["SLOTGATE", "CONFIG"], ["ACL", "LIST"], ["ACL", "WHOAMI"]):
                    got = repr(c.call(*cmd))
                    if PW in got:
                        seen.append(cmd)
                assert not seen, f"the backend password is visible to clients through {seen}"
    _with_node_password(cluster, run)


# ----------------------------------------------------------------------------------------------

if __name__ == "__main__":
    sys.exit(pytest.main([__file__, *sys.argv[1:]]))
