"""A standalone (non-cluster) redis-server to compare slotgate's replies with: what one plain Redis
answers for the same command sequence is what slotgate must answer."""

import os
import shutil
import tempfile

import redis

from cluster import (HOST, RawConnection, RespError, encode_command, free_port, log, spawn, stop_process,
                     tail, wait_until)


class Reference:
    """One standalone (non-cluster) redis-server on a free loopback port, in a temp dir."""

    def __init__(self):
        self.dir = None
        self.proc = None
        self.port = None

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="slotgate-ref-")
        try:
            for attempt in range(5):
                self.port = free_port()
                self.proc = spawn(["redis-server", "--port", str(self.port), "--bind", HOST,
                                   "--save", "", "--appendonly", "no", "--dir", self.dir,
                                   "--protected-mode", "no", "--daemonize", "no"],
                                  os.path.join(self.dir, "redis.log"), cwd=self.dir)
                wait_until(lambda: self.proc.poll() is not None or self._ping(), 10.0,
                           what=f"reference redis-server on port {self.port}")
                if self.proc.poll() is None:
                    log(f"reference redis-server up on {HOST}:{self.port}")
                    return self
                log(f"reference redis-server exited at start:\n{tail(os.path.join(self.dir, 'redis.log'), 10)}")
            raise RuntimeError("could not start the reference redis-server")
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()
        return False

    def _ping(self):
        try:
            return redis.Redis(host=HOST, port=self.port, socket_timeout=1,
                               socket_connect_timeout=1).ping()
        except redis.RedisError:
            return False

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def client(self, **kwargs):
        kwargs.setdefault("socket_timeout", 30)
        return redis.Redis(host=HOST, port=self.port, **kwargs)

    def raw(self):
        return RawConnection(self.port)


def norm(x):
    """A reply made comparable: errors become ("error", text)."""
    if isinstance(x, RespError):
        return ("error", str(x))
    if isinstance(x, list):
        return [norm(i) for i in x]
    return x


def show_command(args):
    """A command for a failure message, cut when long."""
    s = " ".join(a.decode("latin-1") if isinstance(a, bytes) else str(a) for a in args)
    return s if len(s) < 300 else s[:300] + f"... ({len(args)} args)"


def short_repr(v):
    """A reply for a failure message, cut when long."""
    s = repr(v)
    return s if len(s) < 600 else s[:600] + "..."


class Pair:
    """The same raw RESP connection to slotgate and to the reference: every command goes to both."""

    def __init__(self, gate, reference):
        self.g = gate.raw()
        self.r = reference.raw()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.g.close()
        self.r.close()

    def same(self, *args):
        """Runs one command on both; the replies must be equal. Returns the (normalized) reply."""
        g, r = norm(self.g.call(*args)), norm(self.r.call(*args))
        assert g == r, f"{show_command(args)}:\n  slotgate: {short_repr(g)}\n  redis:    {short_repr(r)}"
        return g

    def both(self, *args):
        """Runs one command on both without comparing (setup)."""
        return norm(self.g.call(*args)), norm(self.r.call(*args))

    def same_pipeline(self, commands):
        """Sends all commands at once to each side, then compares the replies one by one."""
        data = b"".join(encode_command(*c) for c in commands)
        self.g.send(data)
        self.r.send(data)
        gs = [norm(self.g.read_reply()) for _ in commands]
        rs = [norm(self.r.read_reply()) for _ in commands]
        for c, g, r in zip(commands, gs, rs):
            assert g == r, f"{show_command(c)}:\n  slotgate: {short_repr(g)}\n  redis:    {short_repr(r)}"
        return gs
