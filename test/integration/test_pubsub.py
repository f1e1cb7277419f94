"""Pub/Sub through slotgate: SUBSCRIBE/PSUBSCRIBE on one dedicated connection, messages in order,
the subscribed-mode rules of Redis (compared with a standalone reference), redis-py's pubsub(),
sharded pub/sub by slot (following a migrated slot), PUBSUB introspection aggregated over the
nodes, RESP3 push messages, and a subscriber that survives a kill -9 of the node it listened on.
"""

import select
import subprocess
import sys
import threading
import time

import pytest

from reference import norm
from cluster import _parse_cluster_nodes, RawConnection, RespError, encode_command, log, tag_for_slot, wait_until
from state_helpers import (call3, key_on, live_nodes, move_slot, other_master, read_reply3, skey)

pytestmark = pytest.mark.cluster(node_timeout=1000)

CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot"
SUB_ONLY = ("ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
            "are allowed in this context")


def poll_reply(conn, timeout):
    """The next reply if one starts arriving within timeout seconds, else None-marker _NOTHING."""
    if conn.pos >= len(conn.buf):
        ready, _, _ = select.select([conn.sock], [], [], timeout)
        if not ready:
            return _NOTHING
    return conn.read_reply()


_NOTHING = object()


def collect(conn, n, timeout):
    """Up to n replies arriving within timeout seconds in total."""
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        got = poll_reply(conn, left)
        if got is _NOTHING:
            break
        out.append(got)
    return out


def assert_quiet(conn, seconds=0.3):
    got = poll_reply(conn, seconds)
    assert got is _NOTHING, f"unexpected extra reply {got!r}"


def node_numsub(cluster, node, channel):
    return int(cluster.client(node).execute_command("PUBSUB", "NUMSUB", channel)[1])


# ----------------------------------------------------------------------------------------------
# Classic pub/sub
# ----------------------------------------------------------------------------------------------

def test_subscribe_and_publish_in_order(cluster, gate):
    pub = gate.client()
    with gate.raw(timeout=10) as s:
        assert s.call("SUBSCRIBE", "ps:a", "ps:b") == [b"subscribe", b"ps:a", 1]
        assert s.read_reply() == [b"subscribe", b"ps:b", 2]
        assert s.call("PSUBSCRIBE", "ps:p:*") == [b"psubscribe", b"ps:p:*", 3]
        expected = []
        for i in range(150):
            ch = ("ps:a", "ps:b", "ps:p:x")[i % 3]
            pub.publish(ch, f"m{i}")
            expected.append([b"message", ch.encode(), f"m{i}".encode()] if i % 3 != 2
                            else [b"pmessage", b"ps:p:*", b"ps:p:x", f"m{i}".encode()])
        got = collect(s, len(expected), 10)
        assert sorted(got) == sorted(expected), f"messages missing or duplicated: {len(got)} of {len(expected)}"
        assert got == expected, f"messages of one publisher out of order; first difference at {next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), len(got))}: got {got[:3]}... ({len(got)} messages)"
        # Published directly on every node, masters and replicas: each arrives exactly once.
        nodes = live_nodes(cluster)
        for n in nodes:
            cluster.client(n).publish("ps:a", f"direct-{n.port}")
        got = collect(s, len(nodes), 10)
        assert sorted(got) == sorted([b"message", b"ps:a", f"direct-{n.port}".encode()] for n in nodes), got
        pub.publish("ps:b", "last")
        assert collect(s, 1, 5) == [[b"message", b"ps:b", b"last"]]
        assert_quiet(s)


def test_subscribed_mode_like_redis(cluster, gate, reference):
    g, r = gate.raw(timeout=10), reference.raw()
    try:
        def same(*args, replies=1):
            g.send(encode_command(*args))
            r.send(encode_command(*args))
            gs = [norm(g.read_reply()) for _ in range(replies)]
            rs = [norm(r.read_reply()) for _ in range(replies)]
            assert gs == rs, f"{args}:\n  slotgate: {gs!r}\n  redis:    {rs!r}"
            return gs if replies > 1 else gs[0]

        assert same("UNSUBSCRIBE") == [b"unsubscribe", None, 0]
        assert same("SUBSCRIBE", "sm:x") == [b"subscribe", b"sm:x", 1]
        assert same("GET", "k") == ("error", SUB_ONLY)
        assert same("SET", "k", "v")[0] == "error"
        assert same("PING") == [b"pong", b""]
        assert same("PING", "hello") == [b"pong", b"hello"]
        assert same("PSUBSCRIBE", "sm:p*", "sm:q*", replies=2) == [
            [b"psubscribe", b"sm:p*", 2], [b"psubscribe", b"sm:q*", 3]]
        assert same("SUBSCRIBE", "sm:x") == [b"subscribe", b"sm:x", 3]  # already subscribed
        assert same("UNSUBSCRIBE", "sm:x") == [b"unsubscribe", b"sm:x", 2]
        assert same("GET", "k") == ("error", SUB_ONLY)  # patterns keep it in subscribed mode
        assert same("UNSUBSCRIBE", "sm:never") == [b"unsubscribe", b"sm:never", 2]
        assert same("PUNSUBSCRIBE", "sm:p*") == [b"punsubscribe", b"sm:p*", 1]
        assert same("PUNSUBSCRIBE") == [b"punsubscribe", b"sm:q*", 0]
        # Out of subscribed mode: normal commands again.
        assert same("PING") == b"PONG"
        same("DEL", "{sm}k")
        assert same("SET", "{sm}k", "v") == b"OK"
        assert same("GET", "{sm}k") == b"v"
        # Subscribe again, then QUIT from subscribed mode.
        assert same("SUBSCRIBE", "sm:y") == [b"subscribe", b"sm:y", 1]
        assert same("QUIT") == b"OK"
        assert g.at_eof(), "slotgate did not close the connection after QUIT"
    finally:
        g.close()
        r.close()


def test_unsubscribe_all_leaves_subscribed_mode(cluster, gate):
    pub = gate.client()
    with gate.raw(timeout=10) as s:
        s.call("SUBSCRIBE", "ua:1", "ua:2", "ua:3")
        assert collect(s, 2, 5) == [[b"subscribe", b"ua:2", 2], [b"subscribe", b"ua:3", 3]]
        s.send(encode_command("UNSUBSCRIBE"))
        got = collect(s, 3, 5)
        assert sorted(x[1] for x in got) == [b"ua:1", b"ua:2", b"ua:3"], got
        assert sorted(x[2] for x in got) == [0, 1, 2] and all(x[0] == b"unsubscribe" for x in got), got
        assert got[-1][2] == 0
        assert s.call("PING") == b"PONG"
        pub.publish("ua:1", "nobody")
        assert s.call("SET", "{ua}k", "1") == b"OK"  # not a message: the subscription is gone
        assert_quiet(s)


def test_subscriber_that_leaves_releases_its_subscription(cluster, gate):
    """When a subscribed client disconnects, its backend subscription goes away too, and no
    message ever reaches another client of slotgate."""
    ch = "leave:ch"
    s = gate.raw(timeout=10)
    assert s.call("SUBSCRIBE", ch) == [b"subscribe", ch.encode(), 1]
    assert s.call("PSUBSCRIBE", "leave:p*") == [b"psubscribe", b"leave:p*", 2]
    assert sum(node_numsub(cluster, n, ch) for n in live_nodes(cluster)) == 1
    s.close()
    deadline = time.monotonic() + 5
    while sum(node_numsub(cluster, n, ch) for n in live_nodes(cluster)) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = {n.port: node_numsub(cluster, n, ch) for n in live_nodes(cluster)}
    assert not any(left.values()), f"subscription still held after its client left: {left}"
    # Other clients (maybe on a reused backend connection) see only their own replies.
    conns = [gate.raw(timeout=10) for _ in range(20)]
    try:
        for i, c in enumerate(conns):
            assert c.call("SET", f"leave:k{i}", i) == b"OK"
        gate.client().publish(ch, "stray")
        gate.client().publish("leave:pattern", "stray")
        for i, c in enumerate(conns):
            assert c.call("GET", f"leave:k{i}") == str(i).encode()
            assert_quiet(c, 0.05)
    finally:
        for c in conns:
            c.close()


def test_redis_py_pubsub(cluster, gate):
    r, pub = gate.client(), gate.client()
    p = r.pubsub()
    try:
        p.subscribe("rp:news")
        p.psubscribe("rp:ev:*")
        confirmations = []
        deadline = time.monotonic() + 5
        while len(confirmations) < 2 and time.monotonic() < deadline:
            m = p.get_message(timeout=0.2)
            if m:
                confirmations.append((m["type"], m["channel"], m["data"]))
        assert sorted(confirmations) == [("psubscribe", b"rp:ev:*", 2), ("subscribe", b"rp:news", 1)], confirmations
        for i in range(20):
            pub.publish("rp:news" if i % 2 == 0 else f"rp:ev:{i}", f"d{i}")
        got = []
        deadline = time.monotonic() + 5
        while len(got) < 20 and time.monotonic() < deadline:
            m = p.get_message(timeout=0.2)
            if m:
                got.append((m["type"], m["channel"], m["data"]))
        expected = [("message", b"rp:news", f"d{i}".encode()) if i % 2 == 0
                    else ("pmessage", f"rp:ev:{i}".encode(), f"d{i}".encode()) for i in range(20)]
        assert sorted(got) == sorted(expected), f"messages missing or duplicated: {got}"
        assert got == expected, f"messages of one publisher out of order: {got}"
        p.unsubscribe("rp:news")
        p.punsubscribe("rp:ev:*")
        left = []
        deadline = time.monotonic() + 5
        while len(left) < 2 and time.monotonic() < deadline:
            m = p.get_message(timeout=0.2)
            if m:
                left.append(m["type"])
        assert sorted(left) == ["punsubscribe", "unsubscribe"], left
    finally:
        p.close()


def test_redis_cli_subscribe(cluster, gate):
    """redis-cli SUBSCRIBE (RESP2) and redis-cli -3 SUBSCRIBE (RESP3 push) through slotgate."""
    pub = gate.client()
    for proto in ([], ["-3"]):
        ch = f"cli:ch{len(proto)}"
        proc = subprocess.Popen(["redis-cli", *proto, "-h", "127.0.0.1", "-p", str(gate.port),
                                 "SUBSCRIBE", ch], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
        reader.start()
        try:
            # Subscribed once slotgate counts it (bounded wait), then three messages.
            deadline = time.monotonic() + 5
            while pub.execute_command("PUBSUB", "NUMSUB", ch)[1] != 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            for i in range(3):
                pub.publish(ch, f"hello{i}")
            deadline = time.monotonic() + 5
            while sum(b"hello" in x for x in lines) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            proc.terminate()
            proc.wait(timeout=5)
            reader.join(timeout=5)
        text = b"".join(lines).decode(errors="replace")
        assert sorted(text.split()) == sorted(["subscribe", ch, "1"] + ["message", ch] * 3 +
                                              [f"hello{i}" for i in range(3)]), \
            f"redis-cli {proto}: messages missing:\n{text}"
        assert text.split() == ["subscribe", ch, "1"] + sum(([ "message", ch, f"hello{i}"] for i in range(3)), []), \
            f"redis-cli {proto}: messages of one publisher out of order:\n{text}"


def test_resp3_push_messages_like_redis(cluster, gate, reference):
    g, r = gate.raw(timeout=10), reference.raw()
    try:
        for c in (g, r):
            call3(c, "HELLO", 3)
        for cmd in (["SUBSCRIBE", "r3:ch"], ["PSUBSCRIBE", "r3:c*"], ["PING"], ["GET", "r3:missing"]):
            gv, graw = call3(g, *cmd)
            rv, rraw = call3(r, *cmd)
            assert graw == rraw, f"{cmd}:\n  slotgate: {graw!r}\n  redis:    {rraw!r}"
        gate.client().publish("r3:ch", "hello")
        reference.client().publish("r3:ch", "hello")
        for _ in range(2):  # message and pmessage
            gv, graw = read_reply3(g)
            rv, rraw = read_reply3(r)
            assert graw == rraw, f"push:\n  slotgate: {graw!r}\n  redis:    {rraw!r}"
        assert gv[0] == "push"
        for cmd in (["UNSUBSCRIBE", "r3:ch"], ["PUNSUBSCRIBE", "r3:c*"]):
            gv, graw = call3(g, *cmd)
            rv, rraw = call3(r, *cmd)
            assert graw == rraw, f"{cmd}:\n  slotgate: {graw!r}\n  redis:    {rraw!r}"
    finally:
        g.close()
        r.close()


# ----------------------------------------------------------------------------------------------
# Sharded pub/sub
# ----------------------------------------------------------------------------------------------

def test_sharded_pubsub_by_slot(cluster, gate):
    owner = cluster.masters()[0]
    ch = key_on(cluster, owner, "sh:ch", index=20)
    ch2 = ch + ":2"  # same hashtag, same slot
    other = key_on(cluster, cluster.masters()[1], "sh:other")
    pub = gate.client()
    with gate.raw(timeout=10) as s:
        # Channels of two slots in one SSUBSCRIBE: Redis Cluster's CROSSSLOT, or (a standalone
        # Redis's answer) both subscribed, each on its own shard.
        got = s.call("SSUBSCRIBE", ch, other)
        if isinstance(got, RespError):
            assert str(got) == CROSSSLOT, got
        else:
            assert got == [b"ssubscribe", ch.encode(), 1], got
            assert s.read_reply() == [b"ssubscribe", other.encode(), 2]
            assert pub.execute_command("SPUBLISH", other, "o1") == 1
            assert pub.execute_command("SPUBLISH", ch, "c1") == 1
            assert sorted(collect(s, 2, 5)) == sorted([[b"smessage", other.encode(), b"o1"],
                                                       [b"smessage", ch.encode(), b"c1"]])
            s.send(encode_command("SUNSUBSCRIBE", ch, other))
            got = collect(s, 3, 2)
            # As a standalone Redis: one reply per channel, in the order given.
            assert got == [[b"sunsubscribe", ch.encode(), 1], [b"sunsubscribe", other.encode(), 0]], got
            assert s.call("PING") == b"PONG"
        assert s.call("SSUBSCRIBE", ch) == [b"ssubscribe", ch.encode(), 1]
        assert s.call("SSUBSCRIBE", ch2) == [b"ssubscribe", ch2.encode(), 2]
        shard = cluster.client(owner).execute_command("PUBSUB", "SHARDNUMSUB", ch)
        assert shard[1] == 1, f"the owner {owner} does not see the shard subscription: {shard}"
        assert pub.execute_command("SPUBLISH", ch, "s1") == 1
        assert pub.execute_command("SPUBLISH", ch2, "s2") == 1
        cluster.client(owner).execute_command("SPUBLISH", ch, "s3")
        got = collect(s, 3, 5)
        assert got == [[b"smessage", ch.encode(), b"s1"], [b"smessage", ch2.encode(), b"s2"],
                       [b"smessage", ch.encode(), b"s3"]], got
        assert pub.execute_command("SPUBLISH", other, "nobody") == 0
        got = s.call("GET", "k")
        assert isinstance(got, RespError) and str(got) == SUB_ONLY, got
        assert s.call("PING") == [b"pong", b""]
        assert s.call("SUNSUBSCRIBE", ch) == [b"sunsubscribe", ch.encode(), 1]
        assert s.call("SUNSUBSCRIBE", ch2) == [b"sunsubscribe", ch2.encode(), 0]
        assert s.call("PING") == b"PONG"
        assert_quiet(s)


def test_sharded_subscription_follows_moved_slot(cluster, gate):
    src = cluster.masters()[1]
    slot = cluster.slots_of(src)[30]
    ch = skey(slot, "shm:ch")
    dst = other_master(cluster, src)
    pub = gate.client()
    with gate.raw(timeout=10) as s:
        assert s.call("SSUBSCRIBE", ch) == [b"ssubscribe", ch.encode(), 1]
        pub.execute_command("SPUBLISH", ch, "before")
        assert collect(s, 1, 5) == [[b"smessage", ch.encode(), b"before"]]
        move_slot(cluster, slot, dst)
        log(f"slot {slot} of shard channel {ch} moved {src.port} -> {dst.port}")
        seen = []
        first = None
        deadline = time.monotonic() + 10
        i = 0
        while first is None and time.monotonic() < deadline:
            pub.execute_command("SPUBLISH", ch, f"probe{i}")
            i += 1
            for m in collect(s, 10, 0.2):
                seen.append(m)
                if m[0] == b"smessage":
                    first = m
        assert first is not None, f"no shard message arrived after the slot moved; saw {seen}"
        assert all(m[0] == b"smessage" for m in seen), \
            f"the client saw the move: {[m for m in seen if m[0] != b'smessage']}"
        assert cluster.client(dst).execute_command("PUBSUB", "SHARDNUMSUB", ch)[1] == 1
        for j in range(20):
            pub.execute_command("SPUBLISH", ch, f"after{j}")
        got = collect(s, 30, 3)
        got = [m for m in got if not m[2].startswith(b"probe")]  # late probes may still arrive
        assert got == [[b"smessage", ch.encode(), f"after{j}".encode()] for j in range(20)], got


# ----------------------------------------------------------------------------------------------
# PUBSUB introspection
# ----------------------------------------------------------------------------------------------

def test_pubsub_introspection_aggregated(cluster, gate):
    """Subscribers connected directly to different masters all show up through slotgate."""
    r = gate.client()
    m = cluster.masters()
    base_numpat = r.execute_command("PUBSUB", "NUMPAT")
    shard = f"agg:sh{{{tag_for_slot(cluster.slots_of(m[2])[0])}}}"
    conns = [RawConnection(m[0].port), RawConnection(m[1].port), RawConnection(m[2].port),
             RawConnection(m[2].port)]
    try:
        assert conns[0].call("SUBSCRIBE", "agg:a") == [b"subscribe", b"agg:a", 1]
        assert conns[1].call("SUBSCRIBE", "agg:a", "agg:b") == [b"subscribe", b"agg:a", 1]
        assert conns[1].read_reply() == [b"subscribe", b"agg:b", 2]
        assert conns[2].call("PSUBSCRIBE", "agg:p:*") == [b"psubscribe", b"agg:p:*", 1]
        assert conns[3].call("SSUBSCRIBE", shard) == [b"ssubscribe", shard.encode(), 1]
        chans = sorted(r.execute_command("PUBSUB", "CHANNELS", "agg:*"))
        assert chans == [b"agg:a", b"agg:b"], chans
        numsub = r.execute_command("PUBSUB", "NUMSUB", "agg:a", "agg:b", "agg:none")
        assert numsub == [b"agg:a", 2, b"agg:b", 1, b"agg:none", 0], numsub
        assert r.execute_command("PUBSUB", "NUMPAT") == base_numpat + 1
        assert r.execute_command("PUBSUB", "SHARDCHANNELS", "agg:*") == [shard.encode()]
        assert r.execute_command("PUBSUB", "SHARDNUMSUB", shard, "agg:nosh") == [shard.encode(), 1, b"agg:nosh", 0]
    finally:
        for c in conns:
            c.close()


def test_pubsub_numsub_counts_subscribers_on_replicas(cluster, gate):
    """PUBLISH reaches replicas too, so a subscriber on a replica is a subscriber."""
    r = gate.client()
    rep = cluster.replicas()[0]
    with RawConnection(rep.port) as s:
        assert s.call("SUBSCRIBE", "aggr:rep") == [b"subscribe", b"aggr:rep", 1]
        assert r.execute_command("PUBSUB", "NUMSUB", "aggr:rep") == [b"aggr:rep", 1]
        assert b"aggr:rep" in r.execute_command("PUBSUB", "CHANNELS")


# ----------------------------------------------------------------------------------------------
# Failure (last: it kills a node)
# ----------------------------------------------------------------------------------------------

def test_subscriber_survives_kill9_of_its_node(cluster, gate):
    ch = "k9:ch"
    pub = gate.client(socket_timeout=5)
    with gate.raw(timeout=10) as s:
        assert s.call("SUBSCRIBE", ch) == [b"subscribe", ch.encode(), 1]
        holders = [n for n in live_nodes(cluster) if node_numsub(cluster, n, ch) == 1]
        assert len(holders) == 1, f"subscription held on {holders}"
        victim = holders[0]
        pub.publish(ch, "before")
        assert collect(s, 1, 5) == [[b"message", ch.encode(), b"before"]]
        log(f"kill -9 {victim} (holds the subscription)")
        victim.proc.kill()
        victim.proc.wait(timeout=10)
        t0 = time.monotonic()
        # Publish until a message arrives again (bounded gap).
        first, i, errors = None, 0, []
        while first is None and time.monotonic() - t0 < 20:
            try:
                pub.publish(ch, f"gap{i}")
            except Exception as e:  # publishing may fail while the cluster notices the death
                errors.append(repr(e))
            i += 1
            for m in collect(s, 10, 0.1):
                first = m
        gap = time.monotonic() - t0
        assert first is not None, f"no message within 20 s of the kill (publish errors: {errors[:3]})"
        log(f"messages flow again {gap:.1f}s after the kill ({len(errors)} publish errors meanwhile)")
        holders = [n for n in live_nodes(cluster) if node_numsub(cluster, n, ch) == 1]
        assert len(holders) == 1 and holders[0] is not victim, holders

        # Once the cluster has healed (a replica took over if a master died), messages are
        # complete and in order again.
        def healed():
            c = cluster.client(live_nodes(cluster)[0])
            info = c.execute_command("CLUSTER", "INFO")
            info = info.decode() if isinstance(info, bytes) else str(info)
            view = {e["port"]: e for e in _parse_cluster_nodes(c.execute_command("CLUSTER", "NODES"))}
            return (("cluster_state:ok" in info or "'cluster_state': 'ok'" in info)
                    and "fail" in view[victim.port]["flags"])
        wait_until(healed, 30, what="the dead node marked failed and cluster_state:ok")
        collect(s, 1000, 0.5)  # drop late gap messages
        for j in range(30):
            pub.publish(ch, f"after{j}")
        got = [m for m in collect(s, 60, 5) if not m[2].startswith(b"gap")]
        want = [[b"message", ch.encode(), f"after{j}".encode()] for j in range(30)]
        assert sorted(got) == sorted(want), f"messages after recovery missing or duplicated: {got}"
        assert got == want, f"messages after recovery out of order: {got}"
        # Also published directly on a surviving node.
        cluster.client(next(n for n in live_nodes(cluster))).publish(ch, "direct")
        assert collect(s, 1, 5) == [[b"message", ch.encode(), b"direct"]]


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, *sys.argv[1:]]))
