"""Pure-Python pieces of Redis the tests need without a server: key -> slot exactly as Redis's
keyHashSlot, a key for any slot, and a raw RESP connection that shows replies byte for byte."""

import socket

HOST = "127.0.0.1"
ALL_SLOTS = 16384



def _crc16_table():
    table = []
    for i in range(256):
        crc = i << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return table


_CRC16 = _crc16_table()


def crc16(data):
    crc = 0
    for b in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16[((crc >> 8) ^ b) & 0xFF]
    return crc


def _as_bytes(x):
    if isinstance(x, bytes):
        return x
    if isinstance(x, (bytearray, memoryview)):
        return bytes(x)
    return str(x).encode()


def key_slot(key):
    """Redis Cluster hash slot of key (str or bytes), computed locally."""
    k = _as_bytes(key)
    start = k.find(b"{")
    if start != -1:
        end = k.find(b"}", start + 1)
        if end > start + 1:
            k = k[start + 1:end]
    return crc16(k) & (ALL_SLOTS - 1)


_tag_for_slot = None


def tag_for_slot(slot):
    """A short string whose slot is `slot`: use as a hashtag, f"{{{tag_for_slot(s)}}}:rest"."""
    global _tag_for_slot
    if _tag_for_slot is None:
        table = [None] * ALL_SLOTS
        missing = ALL_SLOTS
        i = 0
        while missing:
            t = "t%d" % i
            s = crc16(t.encode()) & (ALL_SLOTS - 1)
            if table[s] is None:
                table[s] = t
                missing -= 1
            i += 1
        _tag_for_slot = table
    return _tag_for_slot[slot]


def encode_command(*args):
    """One command as a RESP array of bulk strings."""
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        a = _as_bytes(a)
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(parts)


class RespError(Exception):
    """An error reply read off a raw socket; str() is the full line without '-', e.g. 'ERR ...'."""


class RawConnection:
    """A plain socket speaking RESP, for tests that must control the exact bytes on the wire.
    read_reply() returns bytes for status/bulk, int, list, None, or a RespError instance (errors
    are returned, not raised, so a pipeline of replies can be checked one by one)."""

    def __init__(self, port, host=HOST, timeout=30.0, ssl_context=None):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if ssl_context is not None:  # over TLS (the handshake happens here)
            self.sock = ssl_context.wrap_socket(self.sock, server_hostname=host)
        self.buf = bytearray()
        self.pos = 0

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def call(self, *args):
        self.send(encode_command(*args))
        return self.read_reply()

    def _fill(self):
        if self.pos > 1 << 20:
            del self.buf[:self.pos]
            self.pos = 0
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("connection closed by peer")
        self.buf += chunk

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i != -1:
                line = bytes(self.buf[self.pos:i])
                self.pos = i + 2
                return line
            self._fill()

    def _exact(self, n):
        while len(self.buf) - self.pos < n + 2:
            self._fill()
        data = bytes(self.buf[self.pos:self.pos + n])
        if self.buf[self.pos + n:self.pos + n + 2] != b"\r\n":
            raise ValueError("bulk string not terminated by CRLF")
        self.pos += n + 2
        return data

    def read_reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest
        if kind == b"-":
            return RespError(rest.decode("utf-8", "replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read_reply() for _ in range(n)]
        raise ValueError(f"unexpected RESP type byte in line {line[:80]!r}")

    def at_eof(self, timeout=2.0):
        """True if the peer closes the connection within timeout with nothing more to read."""
        if self.pos < len(self.buf):
            return False
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except (socket.timeout, ConnectionResetError):
            return False
