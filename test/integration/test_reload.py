"""Changing settings without a restart, and stopping without losing replies.

SIGHUP with a good file applies the live settings (and names the ones that need a restart); a bad
file changes nothing. SLOTGATE RELOAD and SLOTGATE CONFIG SET do the same from a client.
SIGTERM with 100 clients mid-pipeline: every command sent gets its reply, the exit code is 0.
"""

import json
import os
import re
import signal
import socket
import sys
import time

import pytest
import redis

from cluster import (HOST, RawConnection, Slotgate, encode_command, log, slotgate_binary,
                     tail, wait_until)

BASE = """
log:
  level: debug
  format: {fmt}
slowlog:
  slower_than_us: {slower}
read_from: {read_from}
timeouts:
  shutdown_ms: 10000
"""


def _write(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def _setting(r, key):
    return r.execute_command("SLOTGATE", "CONFIG", "GET", key)[1].decode()


def _log_after(gate, marker_len):
    with open(gate.logfile, "rb") as f:
        return f.read()[marker_len:].decode(errors="replace")


def _log_len(gate):
    return os.path.getsize(gate.logfile)


def test_sighup_good_and_bad_file(cluster):
    path = os.path.join(cluster.dir, "reload.yaml")
    _write(path, BASE.format(fmt="text", slower=10000, read_from="master"))
    with Slotgate(slotgate_binary(), cluster.seeds(), extra_args=["-c", path]) as gate:
        r = gate.client()
        assert _setting(r, "slowlog.slower_than_us") == "10000"
        # A good file: live settings change, restart-only ones are named and kept.
        _write(path, BASE.format(fmt="text", slower=1234, read_from="prefer-replica") +
               "topology:\n  refresh_interval_ms: 5000\n")
        mark = _log_len(gate)
        gate.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: _setting(r, "slowlog.slower_than_us") == "1234", 10, what="reload applied")
        assert _setting(r, "read_from") == "prefer-replica"
        assert _setting(r, "topology.refresh_interval_ms") == "10000", "needs a restart"
        text = _log_after(gate, mark)
        assert "slowlog.slower_than_us=1234" in text and "read_from=prefer-replica" in text, text
        assert "need a restart were not applied: topology.refresh_interval_ms" in text, text
        assert r.set("reload:k", "v") and r.get("reload:k") == b"v"

        # A bad file: refused, explained, nothing changes, the proxy keeps serving.
        _write(path, BASE.format(fmt="text", slower="soon", read_from="sometimes") + "bogus_key: 1\n")
        mark = _log_len(gate)
        gate.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "refused" in _log_after(gate, mark), 10, what="reload refused in the log")
        text = _log_after(gate, mark)
        assert "slowlog.slower_than_us" in text and "read_from" in text and "bogus_key" in text, text
        assert _setting(r, "slowlog.slower_than_us") == "1234"
        assert _setting(r, "read_from") == "prefer-replica"
        assert r.get("reload:k") == b"v"

        # SLOTGATE RELOAD: same, from a client, with the reason in the reply.
        try:
            r.execute_command("SLOTGATE", "RELOAD")
            raise AssertionError("bad file accepted")
        except redis.ResponseError as e:
            assert "kept its settings" in str(e) and "bogus_key" in str(e), e
        _write(path, BASE.format(fmt="json", slower=777, read_from="master"))
        assert r.execute_command("SLOTGATE", "RELOAD") in (b"OK", "OK")
        assert _setting(r, "slowlog.slower_than_us") == "777"
        assert _setting(r, "log.format") == "json"
        # From now on each log line is one JSON object.
        mark = _log_len(gate)
        r.execute_command("SLOTGATE", "CONFIG", "SET", "max_redirects", "3")
        wait_until(lambda: "max_redirects=3" in _log_after(gate, mark), 10, what="json log line")
        lines = [l for l in _log_after(gate, mark).splitlines() if "max_redirects=3" in l]
        entry = json.loads(lines[0])
        assert entry["level"] == "info" and entry["logger"] == "proxy" and "max_redirects=3" in entry["msg"]
        assert _setting(r, "max_redirects") == "3"
        # CONFIG SET refuses what needs a restart and bad values.
        for args, needle in ((["listen", "127.0.0.1:1"], "cannot change while running"),
                             (["read_from", "nearest"], "invalid value"),
                             (["slowlog.max_len", "-1"], "invalid value")):
            try:
                r.execute_command("SLOTGATE", "CONFIG", "SET", *args)
                raise AssertionError(f"accepted {args}")
            except redis.ResponseError as e:
                assert needle in str(e), e
        assert r.get("reload:k") == b"v"


PIPELINE = 200
CLIENTS = 100
# A node-side busy loop of ~5 ms: keeps commands in flight when the signal arrives.
BUSY = "local t = redis.call('TIME'); local s = t[1] * 1000000 + t[2] " \
       "repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] - s > 5000 return 1"


def test_sigterm_drains_100_pipelining_clients(cluster):
    with Slotgate(slotgate_binary(), cluster.seeds(), threads=2) as gate:
        conns = [RawConnection(gate.port, timeout=30) for _ in range(CLIENTS)]
        payloads = []
        for c, conn in enumerate(conns):
            parts = []
            for i in range(PIPELINE):
                key = f"drain:{c}:{i}"
                if i == PIPELINE // 2:
                    parts.append(encode_command("EVAL", BUSY, "1", key))
                elif i % 2 == 0:
                    parts.append(encode_command("SET", key, str(i)))
                else:
                    parts.append(encode_command("INCR", f"drain:{c}:counter"))
            payloads.append(b"".join(parts))
        for conn, data in zip(conns, payloads):
            conn.send(data)
        # Commands are in flight (the busy loops alone take ~0.5 s of node time).
        log("sending SIGTERM")
        gate.proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        for c, conn in enumerate(conns):
            counter = 0
            for i in range(PIPELINE):
                reply = conn.read_reply()
                if i == PIPELINE // 2:
                    assert reply == 1, (c, i, reply)
                elif i % 2 == 0:
                    assert reply in (b"OK", "OK"), (c, i, reply)
                else:
                    counter += 1
                    assert reply == counter, (c, i, reply)
            assert conn.at_eof(timeout=5), f"client {c} not closed after its replies"
            conn.close()
        rc = gate.proc.wait(timeout=15)
        gate.stopped = True
        elapsed = time.monotonic() - started
        log(f"slotgate exited {rc} {elapsed:.1f}s after SIGTERM")
        assert rc == 0, rc
        text = tail(gate.logfile, 50)
        m = re.search(r"draining (\d+) client\(s\)", text)
        assert m and int(m.group(1)) >= CLIENTS, text
        assert "every client's commands were answered" in text, text
        # The writes landed.
        r = cluster.client(cluster.owner_of("drain:7:counter"))
        assert r.get("drain:7:counter") == str(PIPELINE // 2).encode()


def test_second_signal_exits_at_once(cluster):
    with Slotgate(slotgate_binary(), cluster.seeds(), threads=1) as gate:
        # A client in the middle of a command keeps the drain waiting.
        s = socket.create_connection((HOST, gate.port))
        s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhel")  # incomplete
        time.sleep(0.2)
        gate.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert gate.proc.poll() is None, "exited although a client had a partial command"
        gate.proc.send_signal(signal.SIGTERM)
        rc = gate.proc.wait(timeout=5)
        gate.stopped = True
        assert rc == 1, rc
        assert "exiting now" in tail(gate.logfile, 20)
        s.close()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, *sys.argv[1:]]))
