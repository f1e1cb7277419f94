"""Large values travel as slices of the receive buffers (no copies, writev): they must arrive
byte-exact both ways, compared with a standalone redis-server, however they are cut by the
network, among small commands in one pipeline, inside MULTI, and when the client or the node goes
away in the middle of one."""

import os
import socket
import sys
import time

import pytest

from reference import Pair
from resp_client import RespError, encode_command

pytestmark = [pytest.mark.slotgate(log_level="info")]

KB = 1024
MB = 1024 * KB


def value(size, seed):
    """Bytes that differ everywhere (a shifted piece shows), with CR, LF and NUL among them."""
    block = os.urandom(4096) if seed is None else bytes((i * 31 + seed) % 256 for i in range(4099))
    return (block * (size // len(block) + 1))[:size]


@pytest.mark.parametrize("size", [16 * KB - 1, 16 * KB, 100 * KB, 1 * MB, 10 * MB])
def test_set_get_sizes(gate, reference, size):
    with Pair(gate, reference) as p:
        v = value(size, size % 251)
        p.same("SET", f"lv:size:{size}", v)
        assert p.same("GET", f"lv:size:{size}") == v
        p.same("STRLEN", f"lv:size:{size}")
        p.same("GETRANGE", f"lv:size:{size}", size - 10, -1)


def test_values_split_across_reads(gate, reference):
    """A SET whose value arrives in uneven pieces with pauses, then its GET read a few bytes at a
    time (the reply is written in several pieces too)."""
    v = value(300 * KB, 7)
    cmd = encode_command("SET", "lv:split", v)
    sock = socket.create_connection(("127.0.0.1", gate.port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    cuts = [1, 5, 17, 40, 1000, 16 * KB, 16 * KB + 3, 70 * KB, 200 * KB, len(cmd)]
    start = 0
    for cut in cuts:
        sock.sendall(cmd[start:cut])
        start = cut
        time.sleep(0.02)
    assert sock.recv(100) == b"+OK\r\n"
    # Two GETs pipelined; the client reads slowly so the output backs up and is written in parts.
    sock.sendall(encode_command("GET", "lv:split") * 2)
    want = (b"$%d\r\n" % len(v) + v + b"\r\n") * 2
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    got = bytearray()
    while len(got) < len(want):
        data = sock.recv(7000)
        assert data, "slotgate closed the connection"
        got += data
    assert bytes(got) == want
    sock.close()
    with Pair(gate, reference) as p:
        p.both("SET", "lv:split", v)
        p.same("GET", "lv:split")


def test_pipelined_mix_of_large_and_small(gate, reference):
    """Large and small, reads and writes, on several nodes, in one pipeline: replies come back in
    order and byte-exact, whichever node answers first."""
    big = [value(n, i) for i, n in enumerate([20 * KB, 100 * KB, 700 * KB, 2 * MB])]
    commands = []
    for i, v in enumerate(big):
        commands += [("SET", f"lv:mix:{i}", v), ("SET", f"lv:mixs:{i}", f"small{i}"),
                     ("GET", f"lv:mixs:{i}"), ("GET", f"lv:mix:{i}")]
    for i in reversed(range(len(big))):
        commands += [("GET", f"lv:mix:{i}"), ("PING",), ("GET", f"lv:mixs:{i}"), ("STRLEN", f"lv:mix:{i}")]
    commands += [("MGET", "lv:mix:0", "lv:mixs:1", "lv:mix:2", "lv:nope"),
                 ("MGET", "{lv}a", "{lv}b"), ("SET", "{lv}a", big[1]), ("MGET", "{lv}a", "{lv}a"),
                 ("APPEND", "lv:mix:0", big[1]), ("GET", "lv:mix:0"), ("ECHO", big[2]),
                 ("GETSET", "lv:mix:3", big[0]), ("GET", "lv:mix:3")]
    with Pair(gate, reference) as p:
        p.same_pipeline(commands * 2)


def test_multi_with_large_values(gate, reference):
    v1, v2 = value(200 * KB, 3), value(1 * MB, 4)
    with Pair(gate, reference) as p:
        p.same_pipeline([("MULTI",), ("SET", "{lv:tx}a", v1), ("GET", "{lv:tx}a"), ("SET", "{lv:tx}b", v2),
                         ("MGET", "{lv:tx}a", "{lv:tx}b"), ("EXEC",), ("GET", "{lv:tx}b")])
        p.same("WATCH", "{lv:tx}a")
        p.same_pipeline([("MULTI",), ("APPEND", "{lv:tx}a", v2), ("EXEC",), ("GET", "{lv:tx}a")])


def test_client_disconnects_mid_value(gate, reference):
    """A client that leaves in the middle of sending a large SET, or with large replies unread:
    the half-sent SET is not applied, and slotgate and the node connection carry on."""
    r = gate.client()
    old = value(50 * KB, 9)
    r.set("lv:gone", old)
    v = value(4 * MB, 10)
    for cut in (10, 30 * KB, 1 * MB, 4 * MB - 1):
        sock = socket.create_connection(("127.0.0.1", gate.port), timeout=30)
        sock.sendall(encode_command("SET", "lv:gone", v)[:cut])
        sock.close()
    for _ in range(3):
        sock = socket.create_connection(("127.0.0.1", gate.port), timeout=30)
        sock.sendall(encode_command("GET", "lv:gone") * 50 + encode_command("SET", "lv:big", v) * 3)
        time.sleep(0.05)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()  # reset, replies unread
    time.sleep(0.3)
    assert r.get("lv:gone") == old
    with Pair(gate, reference) as p:
        p.both("SET", "lv:gone", old)
        for i in range(5):
            p.same_pipeline([("GET", "lv:gone"), ("SET", f"lv:after:{i}", v), ("GET", f"lv:after:{i}")])
    gate.check_alive()


def test_node_dies_mid_value(gate, cluster):
    """A master killed while large replies stream from it: the client gets each reply whole or an
    error in its place, never a piece of one, and the connection stays usable. Last in the file:
    the node stays dead."""
    key = "lv:dying"
    v = value(3 * MB, 11)
    r = gate.client()
    r.set(key, v)
    r.set("lv:other{x}", "fine")
    owner = cluster.owner_of(key)
    other_survives = cluster.owner_of("lv:other{x}") is not owner
    conn = gate.raw(timeout=60)
    n = 12  # 36 MB of replies: under the client output limit when they all come after the failover
    conn.send(encode_command("GET", key) * n + encode_command("PING"))
    first = conn.read_reply()
    assert first == v
    cluster.kill(owner)
    replies = [conn.read_reply() for _ in range(n - 1)]
    for got in replies:
        assert got == v or isinstance(got, RespError), repr(got)[:200]
    assert conn.read_reply() == b"PONG"
    # Still in step: a reply after the storm is the one asked for.
    if other_survives:
        assert conn.call("GET", "lv:other{x}") == b"fine"
    assert conn.call("ECHO", "in step") == b"in step"
    conn.close()
    gate.check_alive()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, *sys.argv[1:]]))
