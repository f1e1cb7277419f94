"""One Redis's per-connection semantics through slotgate, compared with a standalone redis-server
where Redis defines them: CLIENT REPLY ON|OFF|SKIP around pipelined commands (byte for byte),
keyspace notifications of keys on every primary reaching one subscriber (and again after a
failover), no duplicate of an ordinary message through a `*` pattern, CLIENT UNBLOCK of a BLPOP by
slotgate's client id, and INFO persistence/stats counters summed over the primaries.
"""

import select
import socket
import sys
import time

import pytest

from cluster import HOST, _parse_cluster_nodes, encode_command, log, wait_until
from resp_client import RawConnection
from state_helpers import key_on

pytestmark = pytest.mark.cluster(node_timeout=1000)

END = b"$3\r\nend\r\n"  # what the closing ECHO end answers


def exchange(port, commands, until=END, timeout=10.0):
    """Sends `commands` pipelined in one write on a new connection, then ECHO end; returns every
    byte received up to and including that reply."""
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(b"".join(encode_command(*c) for c in commands) + encode_command("ECHO", "end"))
        data = b""
        deadline = time.monotonic() + timeout
        while not data.endswith(until):
            assert time.monotonic() < deadline, f"no {until!r} after {data!r}"
            chunk = s.recv(65536)
            assert chunk, f"connection closed after {data!r}"
            data += chunk
        return data


def quiet_read(conn, seconds):
    """Replies that arrive on a RawConnection within `seconds`."""
    out = []
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if conn.pos >= len(conn.buf) and (left <= 0 or not select.select([conn.sock], [], [], left)[0]):
            return out
        out.append(conn.read_reply())


# ----------------------------------------------------------------------------------------------
# CLIENT REPLY
# ----------------------------------------------------------------------------------------------

def test_client_reply_off_skip_on_like_redis(cluster, gate, reference):
    """Pipelined sequences answer byte for byte as one Redis: OFF silences until ON (which answers
    +OK), SKIP silences the next command only (even a split MGET, an error, a blocking command)."""
    masters = cluster.masters()
    keys = [key_on(cluster, m, "cr:k") for m in masters]
    a = keys[0]
    sequences = [
        [("CLIENT", "REPLY", "OFF"), ("SET", a, "1"), ("GET", a), ("INCR", "cr:nope", "x"), ("NOSUCH",),
         ("CLIENT", "REPLY", "ON"), ("GET", a)],
        [("CLIENT", "REPLY", "SKIP"), ("SET", a, "2"), ("GET", a), ("CLIENT", "REPLY", "SKIP"),
         ("CLIENT", "REPLY", "SKIP"), ("GET", a), ("GET", a)],
        [("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "ON"), ("GET", a)],
        [("CLIENT", "REPLY", "OFF"), ("CLIENT", "REPLY", "SKIP"), ("GET", a), ("CLIENT", "REPLY", "ON"),
         ("GET", a)],
        [("CLIENT", "REPLY", "FOO"), ("CLIENT", "REPLY"), ("CLIENT", "REPLY", "OFF"), ("CLIENT", "REPLY", "FOO"),
         ("CLIENT", "REPLY", "ON")],
        [("CLIENT", "REPLY", "SKIP"), ("MSET", *[x for k in keys for x in (k, "v")]), ("MGET", *keys),
         ("CLIENT", "REPLY", "SKIP"), ("MGET", *keys), ("DEL", *keys)],
        [("SET", a, "3"), ("CLIENT", "REPLY", "SKIP"), ("BLPOP", "cr:nolist", "0.1"), ("GET", a)],
        [("CLIENT", "REPLY", "OFF"), ("GET", a), ("RESET",), ("GET", a)],
        [("CLIENT", "REPLY", "OFF"), ("MULTI",), ("SET", a, "4"), ("EXEC",), ("CLIENT", "REPLY", "ON"),
         ("GET", a)],
        [("CLIENT", "REPLY", "OFF"), ("SUBSCRIBE", "cr:s"), ("PING",), ("UNSUBSCRIBE",), ("CLIENT", "REPLY", "ON")],
        [("CLIENT", "REPLY", "SKIP"), ("SUBSCRIBE", "cr:s", "cr:t"), ("PING", "x"), ("UNSUBSCRIBE", "cr:s", "cr:t")],
    ]
    for seq in sequences:
        want = exchange(reference.port, seq)
        got = exchange(gate.port, seq)
        assert got == want, f"{seq}: slotgate {got!r}, redis {want!r}"


def test_client_reply_off_in_resp3_and_subscribed(cluster, gate, reference):
    """Pub/sub confirmations and messages flow whatever CLIENT REPLY says; ordinary replies do
    not (RESP3 lets a subscribed client run them)."""
    hello_end = b"$7\r\nmodules\r\n*0\r\n"
    results = []
    for port in (reference.port, gate.port):
        with socket.create_connection((HOST, port), timeout=10) as s:
            s.sendall(encode_command("HELLO", "3"))
            data = b""
            while not data.endswith(hello_end):
                chunk = s.recv(65536)
                assert chunk
                data += chunk
            s.sendall(b"".join(encode_command(*x) for x in [
                ("CLIENT", "REPLY", "OFF"), ("SUBSCRIBE", "cr:ch"), ("GET", "cr:k"), ("PING",),
                ("PUBLISH", "cr:ch", "x")]))
            time.sleep(0.5)
            with RawConnection(port, timeout=10) as p:
                assert p.call("PUBLISH", "cr:ch", "hello") == 1
            s.sendall(encode_command("UNSUBSCRIBE") + encode_command("CLIENT", "REPLY", "ON") +
                      encode_command("ECHO", "end"))
            data = b""
            while not data.endswith(END):
                chunk = s.recv(65536)
                assert chunk
                data += chunk
            results.append(data)
    assert results[1] == results[0], f"slotgate {results[1]!r}, redis {results[0]!r}"


def test_client_reply_in_multi_is_refused(gate):
    with RawConnection(gate.port, timeout=10) as c:
        assert c.call("MULTI") == b"OK"
        err = c.call("CLIENT", "REPLY", "OFF")
        assert "cannot queue 'client reply' in multi" in str(err).lower(), err
        assert "EXECABORT" in str(c.call("EXEC"))
        assert c.call("PING") == b"PONG"


# ----------------------------------------------------------------------------------------------
# CLIENT UNBLOCK
# ----------------------------------------------------------------------------------------------

def test_client_unblock_timeout_and_error(cluster, gate, reference):
    r = gate.client()
    ref = reference.client()
    for reason, want_blpop in (("TIMEOUT", None), ("ERROR", "UNBLOCKED client unblocked via CLIENT UNBLOCK")):
        # What Redis answers, for the record of both forms.
        rc = RawConnection(reference.port, timeout=10)
        rid = rc.call("CLIENT", "ID")
        rc.send(encode_command("BLPOP", "cu:list", "0"))
        wait_until(lambda: ref.info("clients")["blocked_clients"] >= 1, 5)
        assert ref.execute_command("CLIENT", "UNBLOCK", rid, reason) == 1
        ref_reply = rc.read_reply()
        rc.close()

        c = RawConnection(gate.port, timeout=10)
        cid = c.call("CLIENT", "ID")
        c.send(encode_command("BLPOP", "cu:list", "0"))
        try:
            with RawConnection(gate.port, timeout=10) as adm:
                wait_until(lambda: b" flags=b " in adm.call("CLIENT", "LIST", "ID", cid), 5)
            assert r.execute_command("CLIENT", "UNBLOCK", cid, reason) == 1
            got = c.read_reply()
            assert str(got) == str(ref_reply), (got, ref_reply)
            if want_blpop is None:
                assert got is None
            else:
                assert want_blpop in str(got)
            # No longer blocked: a second UNBLOCK finds nothing, and the client goes on.
            assert r.execute_command("CLIENT", "UNBLOCK", cid) == 0
            assert c.call("PING") == b"PONG"
        finally:
            c.close()
    # Not blocked, unknown, or malformed: as Redis.
    me = r.execute_command("CLIENT", "ID")
    for args in ((me,), (999999,), (0,), (1, "timeout"), ("abc",), (1, "foo"), (1, "timeout", "x")):
        want = None
        try:
            want = ref.execute_command("CLIENT", "UNBLOCK", *args)
        except Exception as e:
            want = ("error", str(e))
        try:
            got = r.execute_command("CLIENT", "UNBLOCK", *args)
        except Exception as e:
            got = ("error", str(e))
        if args == (me,):
            want = 0  # the asking client itself is never blocked
        assert got == want, (args, got, want)


# ----------------------------------------------------------------------------------------------
# INFO sums
# ----------------------------------------------------------------------------------------------

def test_info_persistence_and_stats_are_summed(cluster, gate):
    r = gate.client()
    masters = cluster.masters()
    keys = [key_on(cluster, m, f"is:{i}") for i, m in enumerate(masters)]
    for k in keys:
        r.set(k, "v")
        r.get(k)
        r.get(k + ":missing")
    fields = ("rdb_changes_since_last_save", "keyspace_hits", "keyspace_misses", "expired_keys")

    def node_sum(field, section):
        return sum(int(cluster.client(m).info(section)[field]) for m in masters)

    def check():
        merged = {**r.info("persistence"), **r.info("stats")}
        nodes = {f: node_sum(f, "persistence" if f.startswith("rdb") else "stats") for f in fields}
        log(f"merged {[merged[f] for f in fields]}, nodes {nodes}")
        return all(int(merged[f]) == nodes[f] for f in fields)

    # Nothing else writes to the cluster meanwhile; a retry covers a node's own expiry cycle.
    wait_until(check, 5)
    merged = r.info("persistence")
    assert int(merged["rdb_changes_since_last_save"]) >= 3
    assert merged["rdb_last_bgsave_status"] == "ok"
    # Every primary's commands, not one node's: between the nodes' own counts before and after.
    before = node_sum("total_commands_processed", "stats")
    merged = int(r.info("stats")["total_commands_processed"])
    after = node_sum("total_commands_processed", "stats")
    assert before <= merged <= after, (before, merged, after)


# ----------------------------------------------------------------------------------------------
# Keyspace notifications (last: a failover)
# ----------------------------------------------------------------------------------------------

def _events(conn, wanted, seconds):
    """Collects pmessages/messages until every channel in `wanted` has been seen (or time runs
    out); returns {channel: count} of everything seen."""
    seen = {}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not all(w in seen for w in wanted):
        for reply in quiet_read(conn, 0.2):
            channel = reply[2] if reply[0] == b"pmessage" else reply[1]
            seen[channel] = seen.get(channel, 0) + 1
    # Anything late (a duplicate) shows up here.
    for reply in quiet_read(conn, 0.3):
        channel = reply[2] if reply[0] == b"pmessage" else reply[1]
        seen[channel] = seen.get(channel, 0) + 1
    return seen


def _check_events_from_every_primary(cluster, gate, conns, tag):
    r = gate.client()
    live = cluster.live()
    keys = [key_on(cluster, m, f"ks:{tag}:{i}") for i, m in enumerate(cluster.masters()) if m in live]
    assert len(keys) == 3
    for k in keys:
        r.set(k, "v")
    spaces = [f"__keyspace@0__:{k}".encode() for k in keys]
    pattern_conn, event_conn = conns
    seen = _events(pattern_conn, spaces, 10)
    for ch in spaces:
        assert seen.get(ch) == 1, f"{ch}: {seen}"
    seen = _events(event_conn, [b"__keyevent@0__:set"], 10)
    assert seen.get(b"__keyevent@0__:set") == len(keys), seen


def _flags_of(cluster, node):
    for e in _parse_cluster_nodes(cluster.client(node).execute_command("CLUSTER", "NODES")):
        if "myself" in e["flags"]:
            return e["flags"]
    return set()


def test_keyspace_events_from_every_primary_and_after_failover(cluster, gate):
    r = gate.client()
    assert r.config_set("notify-keyspace-events", "KEA")
    for m in cluster.masters():
        assert cluster.client(m).config_get("notify-keyspace-events")["notify-keyspace-events"] in ("AKE", "KEA")
    pattern_conn = RawConnection(gate.port, timeout=10)
    event_conn = RawConnection(gate.port, timeout=10)
    star_conn = RawConnection(gate.port, timeout=10)
    try:
        assert pattern_conn.call("PSUBSCRIBE", "__keyspace@0__:*") == [b"psubscribe", b"__keyspace@0__:*", 1]
        assert event_conn.call("SUBSCRIBE", "__keyevent@0__:set") == [b"subscribe", b"__keyevent@0__:set", 1]
        assert star_conn.call("PSUBSCRIBE", "*") == [b"psubscribe", b"*", 1]
        time.sleep(0.5)  # the links to the other primaries subscribe
        _check_events_from_every_primary(cluster, gate, (pattern_conn, event_conn), "a")

        # An ordinary PUBLISH reaches every node: through `*` it arrives once.
        quiet_read(star_conn, 0.3)
        assert r.publish("ks:news", "hello") >= 1
        seen = _events(star_conn, [b"ks:news"], 5)
        assert seen.get(b"ks:news") == 1, seen

        # Kill -9 the primary slotgate's subscriptions listen on first (the lowest address), and
        # another one's replica takes over by a manual failover: events still come from every primary.
        victim = min(cluster.masters(), key=lambda m: f"{m.host}:{m.port}")
        heir = next(n for n in cluster.replicas() if n.master_id == victim.id)
        log(f"kill -9 {victim}; {heir} takes over")
        cluster.kill(victim)
        wait_until(lambda: "master" in _flags_of(cluster, heir), 30, what=f"{heir} promoted")
        cluster.wait_stable(30, check_replicas=False)
        # The new primaries' events arrive once slotgate follows the new map.
        deadline = time.monotonic() + 20
        while True:
            try:
                _check_events_from_every_primary(cluster, gate, (pattern_conn, event_conn),
                                                 f"b{int(time.monotonic())}")
                break
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        quiet_read(star_conn, 0.5)
        assert r.publish("ks:news", "again") >= 1
        seen = _events(star_conn, [b"ks:news"], 5)
        assert seen.get(b"ks:news") == 1, seen
    finally:
        for c in (pattern_conn, event_conn, star_conn):
            c.close()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, *sys.argv[1:]]))
