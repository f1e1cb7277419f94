"""Hostile client input through a running slotgate: each bad input in the table gets a Redis-style
error or a clean close of that client only, while a second client keeps being served and the
process keeps running. Where plain Redis has the same error, the bytes slotgate answers (and
whether it closes) are compared with a real standalone redis-server."""

import random
import socket
import sys
import time

import pytest

from cluster import encode_command

# Case modes: how the exchange ends.
REPLY = "reply"  # the input is followed by PING; read until +PONG or a close
WAIT = "wait"    # the input is incomplete: nothing may come back, the connection stays open
ALONE = "alone"  # nothing follows the input: read until a close (or 2 s pass)

PING = encode_command("PING")

def _cmd(*args):
    return encode_command(*args)


# name, bytes, mode, compare with Redis, slotgate's expected (first reply line, closed) if not compared
CASES = [
    ("multibulk header not a number", b"*abc\r\n", REPLY, True, None),
    ("multibulk header with junk after the count", b"*1x\r\n", REPLY, True, None),
    ("negative multibulk count is skipped", b"*-5\r\n", REPLY, True, None),
    ("zero multibulk count is skipped", b"*0\r\n", REPLY, True, None),
    ("negative bulk length", b"*1\r\n$-5\r\n", REPLY, True, None),
    ("bulk length not a number", b"*1\r\n$x\r\n", REPLY, True, None),
    ("bulk length over proto-max-bulk-len", b"*1\r\n$600000000\r\n", REPLY, True, None),
    ("huge multibulk count", b"*99999999999999999999\r\n", REPLY, True, None),
    ("multibulk count over INT_MAX", b"*2147483648\r\n", REPLY, True, None),
    ("multibulk count over limits.max_args", b"*1048577\r\n", REPLY, False,
     (b"-ERR Protocol error: invalid multibulk length", True)),
    ("nested array in a request", b"*1\r\n*1\r\n$4\r\nPING\r\n", REPLY, True, None),
    ("integer where a bulk belongs", b"*1\r\n:1\r\n", REPLY, True, None),
    # Redis skips two bytes after a bulk without looking at them; slotgate insists on CRLF.
    ("bulk longer than declared", b"*1\r\n$3\r\nabcd\r\n", REPLY, False,
     (b"-ERR Protocol error: bulk string not terminated by CRLF", True)),
    ("header without CRLF waits", b"*1\n$4\nPING\n", WAIT, True, None),
    ("bulk without its CRLF waits", b"*1\r\n$4\r\nPING", WAIT, True, None),
    # Redis checks these lengths only while no newline has arrived: nothing may follow them.
    ("multibulk count string too long", b"*" + b"1" * 70000, ALONE, True, None),
    ("bulk count string too long", b"*1\r\n$" + b"1" * 70000, ALONE, True, None),
    ("inline request too long", b"GET " + b"k" * 70000, ALONE, True, None),
    ("inline with unbalanced double quote", b'SET "a b\r\n', REPLY, True, None),
    ("inline with unbalanced single quote", b"SET 'a b\r\n", REPLY, True, None),
    ("inline with a quote not followed by a space", b'SET "a"b c\r\n', REPLY, True, None),
    ("inline with escapes and quotes", b'ECHO "a\\x41\\n" \'b c\'\r\n', REPLY, True, None),
    ("bulk at the top level is an inline command", b"$3\r\nfoo\r\n", REPLY, True, None),
    ("unknown command", _cmd("FOOBARCMD", "a", "b"), REPLY, True, None),
    ("unknown inline command", b"nosuchcommand x y\r\n", REPLY, True, None),
    ("empty command name", _cmd(""), REPLY, True, None),
    ("NUL bytes in a command name", _cmd(b"GE\x00T", "k"), REPLY, False,
     (b"-ERR unknown command 'GE\x00T', with args beginning with: 'k' ", False)),
    ("NUL bytes in a key and value", _cmd("SET", b"hostile:\x00key", b"v\x00v"), REPLY, True, None),
    # Redis looks for the newline with strchr, so a line starting with NUL waits forever there;
    # slotgate splits the line like sdssplitargs (which stops at the NUL): an empty line, skipped.
    ("NUL byte alone", b"\x00\r\n", REPLY, False, (b"+PONG", False)),
    ("empty lines are skipped", b"\r\n\r\n\n", REPLY, True, None),
    ("a million arguments", b"*1000001\r\n$4\r\nECHO\r\n" + b"$1\r\na\r\n" * 1000000, REPLY, True, None),
]

# Wrong arity for each command family, compared with Redis word for word.
ARITY = [
    ("GET",), ("GET", "a", "b"), ("SET", "a"), ("MGET",), ("MSET", "a"), ("MSET", "a", "1", "b"),
    ("DEL",), ("EXISTS",), ("INCR",), ("INCRBY", "a"), ("APPEND", "a"), ("GETRANGE", "a", "1"),
    ("EXPIRE", "a"), ("TTL",), ("HSET", "h", "f"), ("HGET", "h"), ("HMGET", "h"), ("HGETALL",),
    ("LPUSH", "l"), ("LRANGE", "l", "0"), ("LPOP",), ("SADD", "s"), ("SMEMBERS",), ("SINTER",),
    ("ZADD", "z", "1"), ("ZRANGE", "z", "0"), ("ZSCORE", "z"), ("XADD", "x", "*"), ("XRANGE", "x", "-"),
    ("XREAD",), ("PFADD",), ("PFCOUNT",), ("GEOADD", "g", "1", "2"), ("SETBIT", "b", "1"),
    ("EVAL",), ("EVALSHA", "abc"), ("PUBLISH", "c"), ("ECHO",), ("PING", "a", "b"), ("DBSIZE", "x"),
    ("KEYS",), ("SCAN",), ("TYPE",), ("RENAME", "a"), ("OBJECT",), ("OBJECT", "ENCODING"),
    ("CONFIG",), ("CONFIG", "GET"), ("CLIENT",), ("CLUSTER",), ("COMMAND", "COUNT", "x"),
    ("WATCH",), ("SELECT",),
]


def _exchange(port, data, mode, timeout=10.0):
    """Sends `data` (plus PING in REPLY mode) and returns (bytes received, closed by the server)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    received = bytearray()
    closed = False
    try:
        try:
            sock.sendall(data + (PING if mode == REPLY else b""))
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed while we were still sending: what was answered is read below
        deadline = time.monotonic() + {REPLY: timeout, WAIT: 0.5, ALONE: 2.0}[mode]
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            received += chunk
            if mode == REPLY and received.endswith(b"+PONG\r\n"):
                break
    finally:
        sock.close()
    return bytes(received), closed


def _first_line(received):
    return received.split(b"\r\n", 1)[0] if received else b""


def _summary(received, closed):
    # Everything but the trailing PONG, cut for messages.
    return (received[:300], closed)


def _check_second_client(gate, second, i):
    key = f"hostile:second:{i}"
    assert second.set(key, i) is True
    assert second.get(key) == str(i).encode()
    gate.check_alive()


def test_table_of_bad_inputs(gate, reference):
    second = gate.client()
    assert second.ping()
    failures = []
    for i, (name, data, mode, compare, expected) in enumerate(CASES):
        got = _exchange(gate.port, data, mode)
        if compare:
            want = _exchange(reference.port, data, mode)
        else:
            want = expected
        ok = (got == want) if compare else (_first_line(got[0]) == want[0] and got[1] == want[1])
        if not ok:
            failures.append(f"{name}: slotgate {_summary(*got)!r}, expected {_summary(*want)!r}")
        _check_second_client(gate, second, i)
    assert not failures, "\n".join(failures)


def test_wrong_arity_matches_redis(gate, reference):
    failures = []
    for i, args in enumerate(ARITY):
        data = _cmd(*args)
        got = _exchange(gate.port, data, REPLY)
        want = _exchange(reference.port, data, REPLY)
        if got != want:
            failures.append(f"{args}: slotgate {_summary(*got)!r}, redis {_summary(*want)!r}")
    assert not failures, "\n".join(failures)
    _check_second_client(gate, gate.client(), 0)


def test_random_garbage(gate):
    """Random bytes: whatever slotgate answers, it answers with errors and never crashes."""
    rng = random.Random(8)
    second = gate.client()
    for i in range(30):
        data = rng.randbytes(rng.randint(1, 8192))
        received, _closed = _exchange(gate.port, data, REPLY, timeout=2.0)
        # Only errors (or the PONG, if the garbage happened to parse) come back.
        assert received == b"" or received[:1] in b"-+$*:", received[:100]
        _check_second_client(gate, second, i)


def test_disconnect_mid_request(gate):
    second = gate.client()
    partials = [b"*3\r\n$3\r\nSET\r\n$1\r\nk", b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nabc", b"*2\r\n",
                b"GET k", b"*1\r\n$4\r\nPI"]
    for i, data in enumerate(partials):
        for linger in (False, True):
            sock = socket.create_connection(("127.0.0.1", gate.port), timeout=5)
            if linger:  # RST instead of FIN
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            sock.sendall(data)
            sock.close()
            _check_second_client(gate, second, i)
    assert second.get("k") in (None, b"0", b"1", b"2", b"3", b"4")  # the partial SETs never ran


def test_disconnect_mid_reply(gate):
    second = gate.client()
    big = b"x" * (8 << 20)
    second.set("hostile:big", big)
    for linger in (False, True):
        for _ in range(3):
            sock = socket.create_connection(("127.0.0.1", gate.port), timeout=5)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            if linger:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            sock.sendall(_cmd("GET", "hostile:big") * 4)
            assert sock.recv(10).startswith(b"$")
            sock.close()
    assert second.strlen("hostile:big") == len(big)
    assert second.get("hostile:big") == big
    second.delete("hostile:big")
    gate.check_alive()


def test_100mb_bulk_dribbled(gate):
    """A 100 MB value sent slowly: the first 4 KB one byte per send, the rest in 1 MB pieces, while
    another client is served between the pieces. The SET completes and the value is intact."""
    size = 100 << 20
    second = gate.client()
    sock = socket.create_connection(("127.0.0.1", gate.port), timeout=60)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    head = b"*3\r\n$3\r\nSET\r\n$12\r\nhostile:huge\r\n$%d\r\n" % size
    for b in head:
        sock.sendall(bytes([b]))
    piece = bytes(range(256)) * 16
    for i in range(4096):
        sock.sendall(piece[i:i + 1])
        if i % 1024 == 0:
            _check_second_client(gate, second, i)
    sent = 4096
    chunk = (piece * 256)[:1 << 20]
    while sent < size:
        n = min(len(chunk), size - sent)
        sock.sendall(chunk[:n])
        sent += n
        if (sent >> 20) % 10 == 0:
            _check_second_client(gate, second, sent)
    sock.sendall(b"\r\n")
    reply = b""
    while not reply.endswith(b"\r\n"):
        data = sock.recv(100)
        assert data, "slotgate closed the connection instead of answering the SET"
        reply += data
    sock.close()
    assert reply == b"+OK\r\n", reply
    assert second.strlen("hostile:huge") == size
    assert second.getrange("hostile:huge", 0, 4095) == piece[:4096]
    second.delete("hostile:huge")
    gate.check_alive()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, *sys.argv[1:]]))
