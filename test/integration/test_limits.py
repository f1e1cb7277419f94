"""Limits and overload through a running slotgate: a client that never reads its replies, a storm
of connections, max_clients (also under a low descriptor limit), the idle timeout, the soft output
limit, the memory budget and protected mode. Each test starts its own slotgate with the settings
it needs, in front of one shared cluster."""

import os
import socket
import subprocess
import sys
import tempfile
import time

import pytest
import redis

from cluster import HOST, Slotgate, encode_command, free_port, log, slotgate_binary, tail, wait_until

# A long node timeout: floods of 1 MB replies on a loaded machine must not fail a node. The tests
# start their own slotgates; the module's `gate` is not used.
pytestmark = pytest.mark.cluster(replicas_per_master=0, node_timeout=15000)

MB = 1 << 20
RST = b"\x01\x00\x00\x00\x00\x00\x00\x00"  # SO_LINGER on, 0 s: close with a reset, no TIME_WAIT


def _gate(cluster, yaml="", threads=2, binary=None):
    """A Slotgate with `yaml` as its configuration file (written next to its log)."""
    fd, path = tempfile.mkstemp(prefix="slotgate-limits-", suffix=".yaml")
    with os.fdopen(fd, "w") as f:
        f.write(yaml)
    gate = Slotgate(binary or slotgate_binary(), cluster.seeds(), threads=threads,
                    extra_args=["--config", path], log_level="info")
    gate.config_path = path
    return gate


def _rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def _fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def _sanitized(pid):
    with open(f"/proc/{pid}/maps") as f:
        return "libasan" in f.read()


def _info_field(client, section, name):
    return client.info(section)[name]


def _slow_reader(port, commands, rcvbuf=4096):
    """A socket that sends `commands` and never reads (tiny receive buffer)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect((HOST, port))
    sock.settimeout(10)
    try:
        sock.sendall(commands)
    except (BrokenPipeError, ConnectionResetError):
        pass
    return sock


def _is_closed(sock, timeout=10.0):
    """True once the server has closed `sock` (EOF or reset), reading and dropping what arrives."""
    deadline = time.monotonic() + timeout
    sock.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            data = sock.recv(1 << 20)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True
        if not data:
            return True
    return False


def _served(client, i):
    t = time.monotonic()
    assert client.set(f"limits:other:{i % 10}", i) is True
    assert client.get(f"limits:other:{i % 10}") == str(i).encode()
    return time.monotonic() - t


# ----------------------------------------------------------------------------------------------

def test_slow_reader_is_dropped_at_its_limit(cluster):
    """Pipelined GETs of a 1 MB value, never read: slotgate stops reading from the client, drops
    it at the hard output limit, its RSS stays within a few limits of its baseline, and another
    client is served all along."""
    limit = 32 * MB
    # The other client may share the worker's connection to the node with the flood, so its
    # requests can wait behind up to 100 MB of replies on a loaded machine: allow for that.
    with _gate(cluster, "timeouts:\n  backend_ms: 60000\nlimits:\n  client_output_buffer: 32mb\n") as gate:
        other = gate.client(socket_timeout=10)
        other.set("limits:big", b"v" * MB)
        for i in range(20):
            _served(other, i)
        base = _rss_kb(gate.proc.pid)
        sock = _slow_reader(gate.port, encode_command("GET", "limits:big") * 100)
        peak = base
        worst = 0.0
        deadline = time.monotonic() + 60
        i = 0
        while "dropped" not in tail(gate.logfile, 50) and time.monotonic() < deadline:
            peak = max(peak, _rss_kb(gate.proc.pid))
            worst = max(worst, _served(other, i))
            i += 1
            time.sleep(0.02)
        assert "dropped" in tail(gate.logfile, 50), "the slow reader was never disconnected"
        assert _is_closed(sock), "the slow reader's connection is still open"
        sock.close()
        for _ in range(20):
            peak = max(peak, _rss_kb(gate.proc.pid))
            worst = max(worst, _served(other, i))
            i += 1
        log(f"slow reader: RSS {base} kB -> peak {peak} kB (limit {limit >> 10} kB), "
            f"slowest other request {worst * 1000:.0f} ms")
        # AddressSanitizer's quarantine holds freed buffers for a while: a looser bound there.
        bound = (10 if _sanitized(gate.proc.pid) else 3) * limit
        assert (peak - base) * 1024 < bound, (base, peak)
        assert worst < 10.0, worst
        assert int(_info_field(other, "clients", "connected_clients")) >= 1


def test_connection_storm_leaves_no_leak(cluster):
    """20,000 connections opened and closed in batches (most with a reset, some sending a PING):
    afterwards open descriptors and RSS are back near their baseline."""
    with _gate(cluster) as gate:
        pid = gate.proc.pid
        probe = gate.client()
        base = int(_info_field(probe, "clients", "connected_clients"))

        def storm(total, batch=500):
            done = 0
            while done < total:
                socks = []
                for _ in range(min(batch, total - done)):
                    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    s.settimeout(10)
                    s.connect((HOST, gate.port))
                    socks.append(s)
                for j, s in enumerate(socks):
                    if j % 5 == 0:
                        s.sendall(encode_command("PING"))
                for j, s in enumerate(socks):
                    if j % 5 == 0:
                        assert s.recv(16) == b"+PONG\r\n"
                    if j % 10 != 0:
                        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RST)
                    s.close()
                done += len(socks)

        def settled():
            return int(_info_field(probe, "clients", "connected_clients")) == base

        storm(2000)  # warm up: allocator arenas, pools
        wait_until(settled, 20, what="clients to go after the warm-up")
        time.sleep(1.5)  # one malloc_trim interval
        fds0, rss0 = _fds(pid), _rss_kb(pid)
        t = time.monotonic()
        storm(20000)
        log(f"storm: 20000 connections in {time.monotonic() - t:.1f}s")
        wait_until(settled, 30, what="clients to go after the storm")
        time.sleep(1.5)
        probe.ping()
        fds1, rss1 = _fds(pid), _rss_kb(pid)
        log(f"storm: fds {fds0} -> {fds1}, RSS {rss0} kB -> {rss1} kB")
        assert fds1 <= fds0 + 2, (fds0, fds1)
        if _sanitized(pid):
            log("storm: RSS not checked: AddressSanitizer's quarantine keeps freed memory")
        else:
            assert rss1 <= rss0 + 8 * 1024, (rss0, rss1)
        # The storm reached slotgate (the check is not a no-op). Not every connection is counted:
        # one whose final ACK the kernel dropped (a full accept queue under load) is established
        # only on the client's side, and the client's reset removes it before it is ever accepted.
        total = int(_info_field(probe, "proxy", "total_connections_received"))
        assert total >= 22000 * 0.99, total


def test_max_clients(cluster):
    with _gate(cluster, "limits:\n  max_clients: 20\n") as gate:
        first = gate.client()
        wait_until(lambda: int(_info_field(first, "clients", "connected_clients")) == 1, 10,
                   what="only this test's client to be connected")
        base = 1
        held = []
        for _ in range(20 - base):
            s = gate.raw()
            assert s.call("PING") == b"PONG"
            held.append(s)
        assert int(_info_field(first, "clients", "connected_clients")) == 20
        refused = socket.create_connection((HOST, gate.port), timeout=5)
        data = b""
        while True:
            chunk = refused.recv(1024)
            if not chunk:
                break
            data += chunk
        refused.close()
        assert data == b"-ERR max number of clients reached\r\n", data
        assert first.ping()  # the connected ones are still served
        proxy = first.info("proxy")
        assert proxy["maxclients"] == 20 and proxy["rejected_connections"] == 1, proxy
        assert first.info("clients")["maxclients"] == 20
        for s in held[:5]:
            s.close()
        wait_until(lambda: int(_info_field(first, "clients", "connected_clients")) == 15, 10,
                   what="closed clients to be counted out")
        again = gate.raw()
        assert again.call("PING") == b"PONG"
        again.close()
        for s in held[5:]:
            s.close()


def test_low_descriptor_limit(cluster):
    """Under a low RLIMIT_NOFILE, max_clients is lowered at start (and logged), clients over it get
    the max-clients error, the process neither dies nor spins, and it serves again afterwards."""
    d = tempfile.mkdtemp(prefix="slotgate-nofile-")
    wrapper = os.path.join(d, "slotgate-nofile")
    with open(wrapper, "w") as f:
        f.write(f"#!/bin/sh\nulimit -n 256 || exit 99\nexec {slotgate_binary()} \"$@\"\n")
    os.chmod(wrapper, 0o755)
    with _gate(cluster, binary=wrapper) as gate:
        assert "limits.max_clients lowered from 10000" in tail(gate.logfile, 200)
        socks, refused = [], 0
        for _ in range(400):
            s = socket.create_connection((HOST, gate.port), timeout=5)
            s.sendall(encode_command("PING"))
            reply = s.recv(64)
            if reply.startswith(b"-ERR max number of clients reached"):
                refused += 1
                s.close()
            else:
                assert reply == b"+PONG\r\n", reply
                socks.append(s)
        assert refused > 0 and len(socks) >= 100, (refused, len(socks))
        cpu0 = _cpu_seconds(gate.proc.pid)
        time.sleep(1.0)
        assert _cpu_seconds(gate.proc.pid) - cpu0 < 0.5, "slotgate spins while at its client limit"
        for s in socks:
            s.close()
        c = gate.client()
        wait_until(lambda: c.ping(), 10, what="slotgate to serve after the clients left")


def _cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_idle_timeout(cluster):
    with _gate(cluster, "timeouts:\n  client_idle_s: 1\n") as gate:
        idle = gate.raw()
        busy = gate.raw()
        assert idle.call("PING") == b"PONG"
        for _ in range(12):  # 2.4 s: the busy client is never idle for a second
            assert busy.call("PING") == b"PONG"
            time.sleep(0.2)
        assert _is_closed(idle.sock, timeout=3), "the idle client was not closed"
        assert busy.call("PING") == b"PONG"
        idle.close()
        busy.close()


def test_soft_output_limit(cluster):
    yaml = ("limits:\n  client_output_buffer_soft: 2mb\n  client_output_buffer_soft_seconds: 1\n")
    with _gate(cluster, yaml) as gate:
        other = gate.client()
        other.set("limits:big", b"v" * MB)
        # 12 MB of replies: well under the 64 MB hard limit, over the soft one for good.
        sock = _slow_reader(gate.port, encode_command("GET", "limits:big") * 12)
        t = time.monotonic()
        wait_until(lambda: "soft limit" in tail(gate.logfile, 50), 10, what="the soft-limit drop")
        elapsed = time.monotonic() - t
        assert 0.8 <= elapsed <= 5, elapsed
        assert _is_closed(sock)
        sock.close()
        assert other.ping()


def test_maxmemory(cluster):
    with _gate(cluster, "limits:\n  maxmemory: 4mb\n") as gate:
        other = gate.client()
        other.set("limits:big", b"v" * MB)
        sock = _slow_reader(gate.port, encode_command("GET", "limits:big") * 24)

        def refused():
            try:
                other.set("limits:x", 1)
                return False
            except redis.ResponseError as e:
                assert str(e) == ("OOM command not allowed when slotgate's buffered memory > "
                                  "'limits.maxmemory'."), str(e)
                return True
        wait_until(refused, 10, what="commands to be refused over maxmemory")
        assert other.ping()  # answered by slotgate itself, still allowed
        proxy = other.info("proxy")
        assert proxy["oom_rejections"] >= 1 and proxy["buffered_bytes"] > 4 * MB, proxy
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RST)
        sock.close()
        wait_until(lambda: other.set("limits:x", 2), 10, what="commands to be accepted again")
        assert other.get("limits:x") == b"2"


def test_protected_mode(cluster):
    # Loopback listen address: protected mode is on and says so.
    with _gate(cluster) as gate:
        assert "protected mode: no users are configured" in tail(gate.logfile, 200)
    # A wildcard listen address without users is refused at start, naming the way out.
    res = subprocess.run([slotgate_binary(), "--seeds", cluster.seeds(), "--listen",
                          f"0.0.0.0:{free_port()}"], capture_output=True, timeout=30)
    assert res.returncode == 2, res
    err = res.stderr.decode()
    assert "protected_mode: listen address \"0.0.0.0:" in err and "protected_mode: false" in err, err
    res = subprocess.run([slotgate_binary(), "--seeds", cluster.seeds(), "--listen", "127.0.0.1:1",
                          "--protected-mode", "maybe"], capture_output=True, timeout=30)
    assert res.returncode == 2 and "--protected-mode: expected yes or no" in res.stderr.decode(), res


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, *sys.argv[1:]]))
