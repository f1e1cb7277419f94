"""Parked idle clients (timeouts.client_park_ms): a plain-TCP or unix-socket client that has been
idle that long (nothing in flight or half-read, no MULTI/WATCH, no subscription, no blocking
command, CLIENT REPLY ON, not TLS) is parked: slotgate frees its connection and session and
watches the bare socket; the next byte (or EOF) resumes it transparently.

Each test first proves its clients were parked (INFO's `parked_clients` rose until every idle
client was counted) and only then resumes them, and checks what a Redis connection remembers:
CLIENT ID, the name, CLIENT INFO's fields, RESP3 (byte for byte against a standalone reference
redis-server), the AUTH'd user, WAIT after a write. Also: CLIENT LIST and CLIENT KILL reach parked
clients, a parked client that leaves is forgotten, the idle timeout still closes parked clients,
clients in a state that must not be parked keep working past the park time, 300 idle clients
park and resume, the /metrics gauge, the unix socket, the default (1000 ms), 0 (never) and
SIGTERM with parked clients.

How a test knows a client is parked: `wait_parked` polls INFO (section proxy) from a probe client
until parked_clients == connected_clients - 1 - busy, i.e. every client but the probe (resumed
by its own INFO) and the `busy` ones that must not park. So a test leaves no unparkable client
behind (it closes its subscribers, MULTI clients, ...); idle redis-py connections left by earlier
tests are parked like any other.
"""

import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import time

import pytest
import redis

from cluster import HOST, RawConnection, RespError, Slotgate, encode_command, slotgate_binary, wait_until
from state_helpers import ConfiguredSlotgate, call3, key_on, map_dict

PARK_MS = 200
PARK_CONFIG = {"timeouts": {"client_park_ms": PARK_MS}}
PARK_S = PARK_MS / 1000.0

# The WAIT test stops two replicas for a few seconds: a node timeout longer than that keeps the
# cluster's view (and slotgate's topology) unchanged meanwhile.
pytestmark = [pytest.mark.cluster(replicas_per_master=1, node_timeout=5000),
              pytest.mark.slotgate(threads=2, log_level="info", admin=True, config=PARK_CONFIG)]

# CLIENT INFO fields that change on their own (time, buffers, the last command); the others must
# be the same before parking and after resuming.
VOLATILE_FIELDS = {"age", "idle", "cmd", "fd", "events", "qbuf", "qbuf-free", "argv-mem", "multi-mem",
                   "rbs", "rbp", "obl", "oll", "omem", "tot-mem"}
RST = b"\x01\x00\x00\x00\x00\x00\x00\x00"  # SO_LINGER on, 0 s: close with a reset


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------

def counts(probe):
    """(connected_clients, parked_clients) from one INFO proxy."""
    p = probe.info("proxy")
    return int(p["connected_clients"]), int(p["parked_clients"])


def wait_parked(probe, busy=0, at_least=1, timeout=10.0):
    """Waits until every client but the probe and `busy` others is parked (and at least `at_least`
    are); returns (connected, parked)."""
    seen = []

    def settled():
        c, p = counts(probe)
        seen[:] = [(c, p)]
        return (c, p) if p == c - 1 - busy and p >= at_least else None
    try:
        return wait_until(settled, timeout, interval=0.05,
                          what=f"all idle clients parked ({busy} busy, at least {at_least} parked)")
    except TimeoutError as e:
        raise AssertionError(f"{e}; last (connected, parked) = {seen}") from None


def still_unparked(probe, busy):
    """After more than the park time again: still exactly `busy` clients (beside the probe) are not
    parked."""
    time.sleep(3 * PARK_S)
    c, p = counts(probe)
    assert p == c - 1 - busy, f"a client that must not be parked was parked: connected {c}, parked {p}"


def client_fields(line):
    """A CLIENT INFO / CLIENT LIST line as a dict."""
    if isinstance(line, bytes):
        line = line.decode()
    return dict(f.split("=", 1) for f in line.strip().split(" "))


def client_lines(text):
    if isinstance(text, bytes):
        text = text.decode()
    return [client_fields(l) for l in text.splitlines() if l.strip()]


def stable(fields):
    return {k: v for k, v in fields.items() if k not in VOLATILE_FIELDS}


def local_addr(conn):
    return "%s:%d" % conn.sock.getsockname()[:2]


def until_closed(conn, timeout=10.0):
    """Reads `conn` until the peer closes it: the bytes that came before EOF (or a reset), or None
    if it is still open after timeout seconds."""
    data = bytes(conn.buf[conn.pos:])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conn.sock.settimeout(max(0.01, min(0.2, deadline - time.monotonic())))
        try:
            chunk = conn.sock.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return data
        if not chunk:
            return data
        data += chunk
    return None


def raw_unix(path, timeout=30.0):
    """A RawConnection over a unix socket."""
    conn = RawConnection.__new__(RawConnection)
    conn.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.sock.settimeout(timeout)
    conn.sock.connect(path)
    conn.buf = bytearray()
    conn.pos = 0
    return conn


def config_get(probe, key):
    reply = probe.execute_command("SLOTGATE", "CONFIG", "GET", key)
    assert len(reply) == 2 and reply[0] == key.encode(), f"SLOTGATE CONFIG GET {key}: {reply}"
    return reply[1].decode()


def _gate(cluster, config, **kwargs):
    kwargs.setdefault("threads", 2)
    kwargs.setdefault("log_level", "info")
    return Slotgate(slotgate_binary(), cluster.seeds(), config=config, **kwargs)


# ----------------------------------------------------------------------------------------------
# What a connection remembers
# ----------------------------------------------------------------------------------------------

def test_parked_client_keeps_id_name_and_client_info(gate):
    """CLIENT ID, CLIENT SETNAME, CLIENT SETINFO lib-name/lib-ver and every stable CLIENT INFO
    field survive parking, twice in a row; the client's data commands work after resuming."""
    probe = gate.client()
    assert config_get(probe, "timeouts.client_park_ms") == str(PARK_MS)
    with gate.raw(timeout=10) as c:
        assert c.call("CLIENT", "SETNAME", "parked-ident") == b"OK"
        assert c.call("CLIENT", "SETINFO", "LIB-NAME", "parklib") == b"OK"
        assert c.call("CLIENT", "SETINFO", "LIB-VER", "9.8.7") == b"OK"
        assert c.call("SET", "parked:ident", "v1") == b"OK"
        cid = c.call("CLIENT", "ID")
        assert isinstance(cid, int), cid
        before = stable(client_fields(c.call("CLIENT", "INFO")))
        assert before["name"] == "parked-ident" and before["id"] == str(cid), before
        for round_ in range(2):
            wait_parked(probe)
            assert c.call("CLIENT", "ID") == cid, f"round {round_}: the client id changed"
            assert c.call("CLIENT", "GETNAME") == b"parked-ident", f"round {round_}"
            after = client_fields(c.call("CLIENT", "INFO"))
            assert stable(after) == before, f"round {round_}:\n  before: {before}\n  after:  {stable(after)}"
            assert after["addr"] == local_addr(c)
            assert c.call("GET", "parked:ident") == f"v{round_ + 1}".encode()
            assert c.call("SET", "parked:ident", f"v{round_ + 2}") == b"OK"
        assert c.call("GET", "parked:ident") == b"v3"


def test_resp3_survives_parking(gate, reference):
    """After HELLO 3, a parked client still speaks RESP3: HELLO's proto, CLIENT INFO's resp and
    the replies (map, set, null, doubles) byte for byte as a standalone redis-server's."""
    with gate.raw(timeout=10) as g, reference.raw() as r:
        probe = gate.client()
        for conn in (g, r):
            v, _ = call3(conn, "HELLO", "3")
            assert map_dict(v)[b"proto"] == 3, v
            for cmd in (("DEL", "parked:r3:h", "parked:r3:s", "parked:r3:z"),
                        ("HSET", "parked:r3:h", "f1", "v1", "f2", "v2"),
                        ("SADD", "parked:r3:s", "only"),
                        ("ZADD", "parked:r3:z", "1.5", "a", "2", "b")):
                call3(conn, *cmd)
        wait_parked(probe)
        v, _ = call3(g, "HELLO")
        assert map_dict(v)[b"proto"] == 3, f"HELLO after parking: {v}"
        for cmd in (("HGETALL", "parked:r3:h"), ("SMEMBERS", "parked:r3:s"),
                    ("ZRANGE", "parked:r3:z", "0", "-1", "WITHSCORES"), ("GET", "parked:r3:none"),
                    ("HGET", "parked:r3:h", "f2")):
            got, want = call3(g, *cmd)[1], call3(r, *cmd)[1]
            assert got == want, f"{cmd}: slotgate {got!r}, redis {want!r}"
        assert call3(g, "HGETALL", "parked:r3:h")[1].startswith(b"%2\r\n")
        info, _ = call3(g, "CLIENT", "INFO")
        assert client_fields(info)["resp"] == "3", info
        # Parked again after the RESP3 replies: still RESP3.
        wait_parked(probe)
        assert call3(g, "GET", "parked:r3:none")[1] == b"_\r\n"


def test_auth_user_survives_parking(cluster):
    """With users configured: a client logged in as `app` is still `app` after parking (its
    prefix rules apply, other keys are refused), and one that never logged in is still refused."""
    config = (f"timeouts:\n  client_park_ms: {PARK_MS}\n"
              "users:\n"
              "  - {name: admin, password: \"adminpw\", permissions: admin}\n"
              "  - {name: app, password: \"apppw\", permissions: read-write, key_prefixes: [\"app:\"]}\n")
    with ConfiguredSlotgate(slotgate_binary(), cluster.seeds(), config, probe_auth=("admin", "adminpw"),
                            threads=2, log_level="info") as g:
        probe = redis.Redis(host=HOST, port=g.port, username="admin", password="adminpw", socket_timeout=30)
        with g.raw(timeout=10) as app, g.raw(timeout=10) as anon:
            assert app.call("AUTH", "app", "apppw") == b"OK"
            assert app.call("SET", "app:parked", "v") == b"OK"
            assert client_fields(app.call("CLIENT", "INFO"))["user"] == "app"
            assert anon.call("PING") == b"PONG"
            assert str(anon.call("GET", "app:parked")).startswith("NOAUTH")
            wait_parked(probe, at_least=2)
            assert client_fields(app.call("CLIENT", "INFO"))["user"] == "app"
            assert app.call("GET", "app:parked") == b"v"
            e = app.call("SET", "other:parked", "x")
            assert isinstance(e, RespError) and str(e).startswith("NOPERM"), \
                f"after parking, `app` wrote outside its key prefixes: {e!r}"
            wait_parked(probe, at_least=2)
            e = anon.call("GET", "app:parked")
            assert isinstance(e, RespError) and str(e).startswith("NOAUTH"), \
                f"a client that never logged in was served after parking: {e!r}"
        probe.close()


def test_wait_after_write_survives_parking(cluster):
    """A client that SET a key on master A, got parked, then sends WAIT 1 2000 gets 1, as without
    parking. With the replicas of the two other masters stopped, a WAIT that tracks no write (it
    asks any primary, round robin) answers 0 for at least one of three: the control below shows
    it, so a parked client that forgot its write would get 0 from one of the three WAITs."""
    ma = cluster.masters()[0]
    others = [m for m in cluster.masters() if m is not ma]
    stopped = [n for n in cluster.replicas() if n.master_id in {m.id for m in others}]
    assert len(stopped) == 2, cluster.nodes
    key = key_on(cluster, ma, "parked:wait")
    # One worker: the three WAITs below go through one round robin over the three primaries.
    with _gate(cluster, PARK_CONFIG, threads=1) as g:
        probe = g.client()
        writers = [g.raw(timeout=10) for _ in range(3)]
        try:
            for i, w in enumerate(writers):
                assert w.call("SET", f"{key}:{i}", "v") == b"OK"
            for n in stopped:
                os.kill(n.proc.pid, signal.SIGSTOP)
            try:
                with g.raw(timeout=10) as fresh:
                    untracked = [fresh.call("WAIT", 1, 300) for _ in range(3)]
                assert 0 in untracked, ("control: WAIT without a tracked write did not reach a "
                                        f"master whose replica is stopped: {untracked}")
                wait_parked(probe, at_least=3)
                got = [w.call("WAIT", 1, 2000) for w in writers]
                assert got == [1, 1, 1], f"WAIT after parking: {got} (0: the write was forgotten)"
            finally:
                for n in stopped:
                    os.kill(n.proc.pid, signal.SIGCONT)
        finally:
            for w in writers:
                w.close()
            probe.close()
    cluster.wait_stable(30)


# ----------------------------------------------------------------------------------------------
# Introspection and lifetime of parked clients
# ----------------------------------------------------------------------------------------------

def test_client_list_shows_parked_clients(gate):
    """CLIENT LIST (and CLIENT LIST ID) from another client lists parked clients with their
    address, name, age, idle time and last command, without resuming them."""
    probe = gate.client()
    with gate.raw(timeout=10) as a, gate.raw(timeout=10) as b:
        conns = {}
        for conn, name in ((a, "parked-list-a"), (b, "parked-list-b")):
            assert conn.call("CLIENT", "SETNAME", name) == b"OK"
            conns[conn.call("CLIENT", "ID")] = (conn, name)
        wait_parked(probe, at_least=2)

        def listed():
            return {int(e["id"]): e for e in client_lines(probe.execute_command("CLIENT", "LIST"))}
        wait_until(lambda: all(int(listed()[i]["idle"]) >= 1 for i in conns), 10, interval=0.1,
                   what="the parked clients' idle time to reach 1 s in CLIENT LIST")
        entries = listed()
        c, p = counts(probe)
        assert p == c - 1, f"CLIENT LIST resumed parked clients: connected {c}, parked {p}"
        for cid, (conn, name) in conns.items():
            e = entries[cid]
            assert e["name"] == name and e["addr"] == local_addr(conn), e
            assert int(e["age"]) >= int(e["idle"]) >= 1, e
            assert e["cmd"] == "client|id", e
            only = client_lines(probe.execute_command("CLIENT", "LIST", "ID", cid))
            assert [x["name"] for x in only] == [name], only
        # Resumed: its idle time starts again, its age does not.
        info = client_fields(a.call("CLIENT", "INFO"))
        assert info["name"] == "parked-list-a" and info["idle"] == "0" and int(info["age"]) >= 1, info


def test_client_kill_reaches_parked_clients(gate):
    """CLIENT KILL ID and CLIENT KILL ADDR close parked clients: each sees EOF, and both counters
    fall back."""
    probe = gate.client()
    c0, _ = counts(probe)
    with gate.raw(timeout=10) as a, gate.raw(timeout=10) as b:
        ida = a.call("CLIENT", "ID")
        assert b.call("PING") == b"PONG"
        c, p = wait_parked(probe, at_least=2)
        assert c == c0 + 2, (c0, c)
        assert probe.execute_command("CLIENT", "KILL", "ID", ida) == 1
        assert until_closed(a) == b"", "CLIENT KILL ID: the parked client was not closed"
        assert probe.execute_command("CLIENT", "KILL", "ADDR", local_addr(b)) == 1
        assert until_closed(b) == b"", "CLIENT KILL ADDR: the parked client was not closed"
        wait_until(lambda: counts(probe) == (c - 2, p - 2), 10, interval=0.05,
                   what=f"connected/parked to fall from {(c, p)} to {(c - 2, p - 2)}")


def test_parked_client_that_leaves_is_forgotten(gate):
    """Parked clients that close their socket (FIN or reset) are no longer connected nor parked."""
    probe = gate.client()
    base, _ = counts(probe)
    conns = [gate.raw(timeout=10) for _ in range(6)]
    for conn in conns:
        assert conn.call("PING") == b"PONG"
    c, p = wait_parked(probe, at_least=6)
    assert c == base + 6, (base, c)
    conns[0].sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RST)
    for conn in conns[:4]:
        conn.close()
    wait_until(lambda: counts(probe) == (c - 4, p - 4), 10, interval=0.05,
               what="the four closed parked clients to be forgotten")
    for conn in conns[4:]:
        assert conn.call("PING") == b"PONG"
        conn.close()
    wait_until(lambda: counts(probe)[0] == base, 10, interval=0.05, what="connected_clients back to base")


def test_idle_timeout_closes_parked_clients(cluster):
    """timeouts.client_idle_s still closes a client that idles while parked."""
    # 2 s: the probe below has well over a second to see the client parked before it is closed.
    with _gate(cluster, {"timeouts": {"client_park_ms": PARK_MS, "client_idle_s": 2}}) as g:
        probe = g.client()
        with g.raw(timeout=10) as idle:
            assert idle.call("PING") == b"PONG"
            # The probe polls every 50 ms: it is never idle long itself.
            wait_until(lambda: counts(probe) == (2, 1), 5, interval=0.05, what="the idle client to be parked")

            def closed():
                probe.ping()
                return until_closed(idle, timeout=0.05) is not None
            wait_until(closed, 10, interval=0.05, what="the parked idle client to be closed")
            wait_until(lambda: counts(probe) == (1, 0), 5, interval=0.05, what="the closed client to be forgotten")
            assert int(probe.info("proxy")["client_idle_disconnections"]) >= 1
        probe.close()


# ----------------------------------------------------------------------------------------------
# Clients that must not be parked
# ----------------------------------------------------------------------------------------------

def test_half_sent_command_is_not_parked(gate):
    """A client that sent part of a command (header, part of a bulk, part of an inline line) is not
    parked; when it sends the rest after more than the park time, it gets the right reply."""
    probe = gate.client()
    parts = [
        (b"*3\r\n$3\r\nSET\r\n$", b"14\r\nparked:half:hd\r\n$2\r\nv1\r\n", "parked:half:hd", b"v1"),
        (b"*3\r\n$3\r\nSET\r\n$14\r\nparked:ha", b"lf:bk\r\n$2\r\nv2\r\n", "parked:half:bk", b"v2"),
        (b"SET parked:hal", b"f:in v3\r\n", "parked:half:in", b"v3"),
    ]
    with gate.raw(timeout=10) as control:
        assert control.call("PING") == b"PONG"
        conns = [gate.raw(timeout=10) for _ in parts]
        try:
            for conn, (first, _, _, _) in zip(conns, parts):
                conn.send(first)
            wait_parked(probe, busy=len(conns))
            still_unparked(probe, busy=len(conns))
            for conn, (_, rest, key, value) in zip(conns, parts):
                conn.send(rest)
                assert conn.read_reply() == b"OK", key
                assert conn.call("GET", key) == value
        finally:
            for conn in conns:
                conn.close()


def test_multi_and_watch_are_not_parked(gate):
    """A client in MULTI and one that WATCHes a key are not parked: after more than the park time
    EXEC runs the queued commands, and the other's EXEC is aborted by a write to its watched key
    made meanwhile. Afterwards both park like any idle client."""
    probe = gate.client()
    probe.delete("parked:tx", "parked:watched")
    with gate.raw(timeout=10) as control, gate.raw(timeout=10) as tx, gate.raw(timeout=10) as watcher:
        assert control.call("PING") == b"PONG"
        assert tx.call("MULTI") == b"OK"
        assert tx.call("SET", "parked:tx", "5") == b"QUEUED"
        assert tx.call("INCR", "parked:tx") == b"QUEUED"
        assert watcher.call("WATCH", "parked:watched") == b"OK"
        wait_parked(probe, busy=2)
        assert probe.set("parked:watched", "theirs") is True
        still_unparked(probe, busy=2)
        assert tx.call("EXEC") == [b"OK", 6]
        assert tx.call("GET", "parked:tx") == b"6"
        assert watcher.call("MULTI") == b"OK"
        assert watcher.call("SET", "parked:watched", "mine") == b"QUEUED"
        assert watcher.call("EXEC") is None, "the WATCH was lost while the client waited"
        assert watcher.call("GET", "parked:watched") == b"theirs"
        wait_parked(probe, at_least=3)
        assert tx.call("PING") == b"PONG" and watcher.call("PING") == b"PONG"


def test_subscriber_blocked_and_reply_off_clients_are_not_parked(gate):
    """A subscriber, a client blocked in BLPOP and one with CLIENT REPLY OFF are not parked: after
    more than the park time a PUBLISH reaches the subscriber, an LPUSH wakes the blocked client,
    CLIENT REPLY ON answers. Once back to plain idle they park, and resume."""
    probe = gate.client()
    probe.delete("parked:blpop", "parked:replyoff")
    with gate.raw(timeout=10) as control, gate.raw(timeout=10) as sub, gate.raw(timeout=10) as blocked, \
            gate.raw(timeout=10) as quiet:
        assert control.call("PING") == b"PONG"
        assert sub.call("SUBSCRIBE", "parked:ch") == [b"subscribe", b"parked:ch", 1]
        blocked.send(encode_command("BLPOP", "parked:blpop", "0"))
        wait_until(lambda: any(e.get("cmd") == "blpop" for e in
                               client_lines(probe.execute_command("CLIENT", "LIST"))), 5,
                   what="BLPOP to be running")
        quiet.send(encode_command("CLIENT", "REPLY", "OFF") + encode_command("SET", "parked:replyoff", "q"))
        wait_parked(probe, busy=3)
        still_unparked(probe, busy=3)
        probe.publish("parked:ch", "hello")
        assert sub.read_reply() == [b"message", b"parked:ch", b"hello"]
        assert probe.lpush("parked:blpop", "x") == 1
        assert blocked.read_reply() == [b"parked:blpop", b"x"]
        assert quiet.call("CLIENT", "REPLY", "ON") == b"OK"
        assert quiet.call("GET", "parked:replyoff") == b"q"
        assert sub.call("UNSUBSCRIBE", "parked:ch") == [b"unsubscribe", b"parked:ch", 0]
        wait_parked(probe, at_least=4)
        for conn in (control, sub, blocked, quiet):
            assert conn.call("PING") == b"PONG"


def test_tls_client_is_not_parked(cluster):
    """A TLS client is never parked (its TLS session lives in slotgate); it keeps its name and is
    served after more than the park time, while an idle plain client beside it parks."""
    from tls_certs import Certs
    d = tempfile.mkdtemp(prefix="slotgate-park-certs-")
    try:
        with _gate(cluster, PARK_CONFIG, certs=Certs(d), client_tls=True) as g:
            probe = g.client()
            with g.raw(timeout=10) as plain, g.raw(timeout=10, tls=True) as tls:
                assert tls.call("CLIENT", "SETNAME", "parked-tls") == b"OK"
                assert tls.call("SET", "parked:tls", "t") == b"OK"
                assert plain.call("PING") == b"PONG"
                wait_parked(probe, busy=1)
                still_unparked(probe, busy=1)
                assert tls.call("CLIENT", "GETNAME") == b"parked-tls"
                assert tls.call("GET", "parked:tls") == b"t"
                assert plain.call("GET", "parked:tls") == b"t"
            probe.close()
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ----------------------------------------------------------------------------------------------
# Many clients, the counters
# ----------------------------------------------------------------------------------------------

def test_many_idle_clients_park_and_resume(gate):
    """300 idle clients all park (INFO parked_clients, summed over both workers, and the /metrics
    gauge), then all resume at once with a GET each and get their own value; the count follows
    the clients that close and those still idle."""
    n = 300
    probe = gate.client()
    probe.mset({f"parked:many:{i}": i for i in range(n)})
    base, _ = counts(probe)
    conns = [gate.raw(timeout=20) for _ in range(n)]
    try:
        for conn in conns:
            assert conn.call("PING") == b"PONG"
        c, p = wait_parked(probe, at_least=n, timeout=20)
        assert c == base + n, (base, c)
        status, body = gate.admin_get("/metrics")
        assert status == 200
        families = re.findall(r"^# TYPE (slotgate_\w+_parked_clients) (\w+)$", body, re.M)
        assert len(families) == 1 and families[0][1] == "gauge", families
        value = gate.metrics()[families[0][0]]
        assert n <= value <= c, (families[0][0], value, c)
        # Every client resumes at once: all requests written before any reply is read.
        for i, conn in enumerate(conns):
            conn.send(encode_command("GET", f"parked:many:{i}"))
        for i, conn in enumerate(conns):
            assert conn.read_reply() == str(i).encode(), i
        for conn in conns:
            assert conn.call("PING") == b"PONG"
        # Parked again: the count is not inflated by the earlier parking.
        c2, _ = wait_parked(probe, at_least=n, timeout=20)
        assert c2 == c, (c, c2)
        for conn in conns[:100]:
            conn.close()
        wait_until(lambda: counts(probe) == (c - 100, c - 101), 20, interval=0.05,
                   what="100 closed clients to leave the counts")
        for conn in conns[100:150]:
            assert conn.call("PING") == b"PONG"
        c3, p3 = wait_parked(probe, at_least=n - 100, timeout=20)
        assert c3 == c - 100, (c, c3)
    finally:
        for conn in conns:
            conn.close()
    wait_until(lambda: counts(probe)[0] == base, 20, interval=0.05, what="connected_clients back to base")
    wait_parked(probe, at_least=0)


def test_park_ms_zero_never_parks(cluster):
    """client_park_ms: 0: a client idle for longer than the default park time stays unparked."""
    with _gate(cluster, {"timeouts": {"client_park_ms": 0}}) as g:
        probe = g.client()
        assert config_get(probe, "timeouts.client_park_ms") == "0"
        with g.raw(timeout=10) as idle:
            assert idle.call("SET", "parked:never", "1") == b"OK"
            time.sleep(1.5)
            c, p = counts(probe)
            assert p == 0 and c >= 2, (c, p)
            assert idle.call("GET", "parked:never") == b"1"
        probe.close()


# ----------------------------------------------------------------------------------------------
# The unix socket, the default park time and SIGTERM (one slotgate, stopped by the last test)
# ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def unix_gate(cluster):
    """A slotgate serving a unix socket too, with the default client_park_ms (1000)."""
    d = tempfile.mkdtemp(prefix="slotgate-park-")
    path = os.path.join(d, "slotgate.sock")
    try:
        with Slotgate(slotgate_binary(), cluster.seeds(), threads=2, log_level="info",
                      extra_args=["--unix-socket", path]) as g:
            g.unix_path = path
            yield g
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_unix_socket_client_parks_with_default_park_time(unix_gate):
    """Without client_park_ms (the default, 1000 ms) a unix-socket client parks and resumes with
    its id, name and data; CLIENT LIST shows it as PATH:0 meanwhile."""
    g = unix_gate
    probe = g.client()
    assert config_get(probe, "timeouts.client_park_ms") == "1000"
    with raw_unix(g.unix_path, timeout=10) as u:
        assert u.call("CLIENT", "SETNAME", "parked-unix") == b"OK"
        assert u.call("SET", "parked:unix", "u1") == b"OK"
        cid = u.call("CLIENT", "ID")
        wait_parked(probe, timeout=15)
        entry = next(e for e in client_lines(probe.execute_command("CLIENT", "LIST")) if e["id"] == str(cid))
        assert entry["name"] == "parked-unix" and entry["addr"] == f"{g.unix_path}:0", entry
        assert u.call("CLIENT", "ID") == cid
        assert u.call("CLIENT", "GETNAME") == b"parked-unix"
        assert u.call("GET", "parked:unix") == b"u1"
    probe.close()


def test_sigterm_with_parked_clients(unix_gate):
    """SIGTERM with parked TCP and unix-socket clients: slotgate exits with code 0 and every parked
    client sees EOF."""
    g = unix_gate
    probe = g.client()
    tcp, unix = g.raw(timeout=10), raw_unix(g.unix_path, timeout=10)
    try:
        assert tcp.call("PING") == b"PONG" and unix.call("PING") == b"PONG"
        wait_parked(probe, at_least=2, timeout=15)
        probe.close()
        g.stop()
        assert g.problems == [] and g.proc.returncode == 0, (g.proc.returncode, g.problems)
        assert until_closed(tcp, timeout=5) is not None, "a parked TCP client was left open"
        assert until_closed(unix, timeout=5) is not None, "a parked unix-socket client was left open"
    finally:
        tcp.close()
        unix.close()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, *sys.argv[1:]]))
