"""TLS on both sides of slotgate, against a cluster of Debian's redis-server whose nodes serve TLS
and plain ports side by side, with the bus and replication over TLS (certificates made by
openssl at start, test/support/tls_certs.py).

Two slotgates share the cluster: `gate` talks TLS to the nodes' TLS ports, `gate_plain` plain to
their plain ports; each also serves TLS clients (tls.listen) beside its plain port: the four
combinations of client and node link. Then redis-cli and redis-benchmark with --tls, a rotated
server certificate picked up on SIGHUP, nodes whose certificate slotgate must not trust (an
unknown CA, a wrong name), and configurations naming files that do not exist.
"""

import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time

import pytest
import redis

from cluster import HOST, RawConnection, Slotgate, log, slotgate_binary, wait_until
from tls_certs import serial_of_der
from tls_checks import assert_nodes_refused, peer_ports

pytestmark = [pytest.mark.cluster(tls=True, replicas_per_master=0),
              pytest.mark.slotgate(client_tls=True, admin=True, log_level="info")]


@pytest.fixture(scope="module")
def gate_plain(cluster):
    """slotgate in plain text to the nodes' plain ports, serving TLS clients too."""
    with Slotgate(slotgate_binary(), cluster.plain_seeds(), certs=cluster.certs, client_tls=True,
                  admin=True, log_level="info") as g:
        yield g


def _exercise(r, cluster, tag):
    """Single-key, multi-slot and pipelined traffic; the values are on the owners."""
    keys = [f"tls:{tag}:{i}" for i in range(30)]
    for k in keys:
        assert r.set(k, k) is True
    assert r.mget(keys) == [k.encode() for k in keys]
    pipe = r.pipeline(transaction=False)
    for k in keys:
        pipe.append(k, "+")
    assert pipe.execute() == [len(k) + 1 for k in keys]
    for k in keys[:5]:
        assert cluster.client(cluster.owner_of(k)).get(k) == (k + "+").encode()
    assert r.delete(*keys) == len(keys)


def test_four_combinations_of_client_and_node_tls(cluster, gate, gate_plain):
    tls_ports = {n.port for n in cluster.nodes}
    plain_ports = {n.plain_port for n in cluster.nodes}
    for node_side, g in (("tls-nodes", gate), ("plain-nodes", gate_plain)):
        for client_tls in (False, True):
            r = g.client(tls=client_tls, socket_timeout=10)
            try:
                _exercise(r, cluster, f"{node_side}:{client_tls}")
                if client_tls:
                    sock = r.connection_pool.get_connection("PING")
                    try:
                        assert isinstance(sock._sock, ssl.SSLSocket), "redis-py did not use TLS"
                        assert serial_of_der(sock._sock.getpeercert(binary_form=True)) == cluster.certs.proxy.serial
                    finally:
                        r.connection_pool.release(sock)
            finally:
                r.connection_pool.disconnect()
    # Which ports each slotgate's node links reached: `gate` only the TLS ports (the nodes
    # announce both in CLUSTER SHARDS), `gate_plain` only the plain ones; both watch the bus.
    for g, want, other in ((gate, tls_ports, plain_ports), (gate_plain, plain_ports, tls_ports)):
        ports = peer_ports(g.proc.pid)
        node_links = [p for p in ports if p in tls_ports | plain_ports]
        log(f"slotgate {g.port}: connections to ports {sorted(ports)}")
        assert len(node_links) >= len(cluster.masters()) and set(node_links) <= want, (ports, want)
        assert not set(ports) & other, ports


def test_tls_alone_for_cluster_aware_clients(cluster):
    """`listen: off` and tls.listen: no plain port, and slotgate names its TLS address in CLUSTER
    SLOTS, so a cluster-aware TLS client (redis-py's RedisCluster) keeps its traffic there."""
    with Slotgate(slotgate_binary(), cluster.seeds(), certs=cluster.certs, client_tls=True, backend_tls=True,
                  plain_listen=False, threads=1, log_level="info") as g:
        assert g.port is None
        slots = g.client(tls=True).execute_command("CLUSTER", "SLOTS")
        assert {int(entry[2][1]) for entry in slots} == {g.tls_port}, slots
        rc = redis.RedisCluster(host=HOST, port=g.tls_port, socket_timeout=10, **g.client_tls_kwargs())
        try:
            keys = [f"tls:alone:{i}" for i in range(20)]
            for k in keys:
                assert rc.set(k, k) is True
            assert [rc.get(k) for k in keys] == [k.encode() for k in keys]
            assert {n.port for n in rc.get_nodes()} == {g.tls_port}
        finally:
            rc.close()
        assert cluster.client(cluster.owner_of("tls:alone:3")).get("tls:alone:3") == b"tls:alone:3"


def _cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_gossip_over_an_encrypted_bus_needs_a_client_certificate(gate, gate_plain):
    """The bus is TLS (tls-cluster yes), and a node asks every bus peer for a certificate whatever
    tls-auth-clients says. `gate_plain` (no TLS) and `gate` (TLS, no client certificate) cannot
    watch it: each says so and why in its log and in /topology, and does not spin on reconnects
    (idle CPU stays near zero). test_tls_mutual.py has the slotgate that can."""
    for g, why in ((gate_plain, "tls"), (gate, "certificate")):
        status, body = g.admin_get("/topology")
        assert status == 200, body
        gossip = json.loads(body).get("gossip", "")
        assert why in gossip.lower(), f"/topology does not say why gossip is off: {body[:400]}"
        text = open(g.logfile, errors="replace").read()
        lines = [line for line in text.splitlines() if "cluster bus" in line and why in line.lower()]
        assert lines, text[-2000:]
        cpu0, bus0 = _cpu_seconds(g.proc.pid), text.count("cluster bus of")
        time.sleep(1.5)
        cpu = _cpu_seconds(g.proc.pid) - cpu0
        bus = open(g.logfile, errors="replace").read().count("cluster bus of") - bus0
        log(f"/topology gossip: {gossip!r}; log: {lines[0]}; idle: {cpu:.2f} s CPU, {bus} bus lines in 1.5 s")
        assert cpu < 0.3 and bus < 30, (cpu, bus)


def test_wrong_protocol_on_each_port_fails_fast(gate):
    """Plain RESP on the TLS port and a TLS handshake on the plain port: an error or a closed
    connection within seconds, never a hang; slotgate keeps serving."""
    t0 = time.monotonic()
    s = socket.create_connection((HOST, gate.tls_port), timeout=5)
    try:
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        data = b""
        try:
            while chunk := s.recv(100):  # a TLS alert at most, then the end of the connection
                data += chunk
        except ConnectionResetError:
            pass
        assert b"PONG" not in data, data
    finally:
        s.close()
    assert time.monotonic() - t0 < 5
    # A TLS handshake on the plain port is garbage to a RESP parser, as it would be to Redis.
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        RawConnection(gate.port, timeout=3, ssl_context=gate.ssl_context()).call("PING")
    assert gate.client(tls=True, socket_timeout=5).ping() is True
    assert gate.client(socket_timeout=5).ping() is True


def test_redis_cli_tls(cluster, gate):
    cli = ["redis-cli", *gate.cli_args(tls=True)]
    out = subprocess.run(cli + ["SET", "tls:cli", "from-redis-cli"], capture_output=True, text=True, timeout=20)
    assert out.returncode == 0 and out.stdout.strip() == "OK", out
    out = subprocess.run(cli + ["GET", "tls:cli"], capture_output=True, text=True, timeout=20)
    assert out.stdout.strip() == "from-redis-cli", out
    assert cluster.client(cluster.owner_of("tls:cli")).get("tls:cli") == b"from-redis-cli"
    # Many commands on one connection (redis-cli reading stdin).
    script = "".join("INCR tls:cli:counter\n" for _ in range(100))
    out = subprocess.run(cli, input=script, capture_output=True, text=True, timeout=20)
    assert out.returncode == 0 and out.stdout.split()[-1] == "100", out
    # Without --tls on the TLS port: redis-cli fails, it does not hang.
    out = subprocess.run(["redis-cli", "-h", HOST, "-p", str(gate.tls_port), "PING"], capture_output=True,
                         text=True, timeout=20)
    assert "PONG" not in out.stdout, out


def test_redis_benchmark_tls(gate):
    """redis-benchmark --tls against slotgate's TLS port (and its plain port, to TLS nodes)."""
    for args in (gate.cli_args(tls=True), gate.cli_args()):
        out = subprocess.run(["redis-benchmark", *args, "-t", "set,get", "-n", "3000", "-c", "10", "-P", "4",
                              "-r", "1000", "--csv"], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out
        rows = [l for l in out.stdout.splitlines() if l.startswith('"SET"') or l.startswith('"GET"')]
        assert len(rows) == 2, out.stdout
        for row in rows:
            assert float(row.split(",")[1].strip('"')) > 0, row
        assert "rror" not in out.stdout + out.stderr, out
    log("redis-benchmark --tls: " + " ".join(rows))


def _peer_serial(gate):
    with RawConnection(gate.tls_port, timeout=10, ssl_context=gate.ssl_context()) as c:
        assert c.call("PING") == b"PONG"
        return serial_of_der(c.sock.getpeercert(binary_form=True))


def test_rotated_certificate_picked_up_on_sighup(cluster, gate):
    certs = cluster.certs
    old_serial = certs.proxy.serial
    assert _peer_serial(gate) == old_serial
    old = RawConnection(gate.tls_port, timeout=10, ssl_context=gate.ssl_context())
    try:
        assert old.call("SET", "tls:rot", "before") == b"OK"
        certs.proxy = certs.rotate(certs.proxy, "proxy-rotated")
        assert certs.proxy.serial != old_serial
        assert _peer_serial(gate) == old_serial, "the new certificate was used before the reload"
        gate.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: _peer_serial(gate) == certs.proxy.serial, 10,
                   what="new TLS connections to present the rotated certificate")
        # The connection made before the rotation carries on, with the certificate it had.
        assert serial_of_der(old.sock.getpeercert(binary_form=True)) == old_serial
        assert old.call("GET", "tls:rot") == b"before"
        assert old.call("SET", "tls:rot", "after") == b"OK"
        # A reload whose key does not match its certificate is refused and changes nothing.
        mark = os.path.getsize(gate.logfile)
        good_key = certs.proxy.key + ".good"
        shutil.copy(certs.proxy.key, good_key)
        broken = certs.issue("unrelated", "unrelated")
        os.replace(broken.key, certs.proxy.key)
        gate.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: re.search(r" [WE] \[.*(key|certificate)", tail_from(gate, mark)), 10,
                   what="the refused reload in the log")
        log("refused: " + re.search(r".* [WE] \[.*(key|certificate).*", tail_from(gate, mark)).group(0))
        assert gate.alive()
        assert _peer_serial(gate) == certs.proxy.serial
        assert old.call("GET", "tls:rot") == b"after"
        os.replace(good_key, certs.proxy.key)
    finally:
        old.close()
    log(f"rotation: serial {old_serial:#x} -> {certs.proxy.serial:#x} on SIGHUP; the old connection carried on")


def tail_from(gate, offset):
    with open(gate.logfile, "rb") as f:
        f.seek(offset)
        return f.read().decode(errors="replace")


def test_untrusted_node_certificate_is_refused(cluster):
    """Trusting only another CA: every node's certificate is untrusted."""
    assert_nodes_refused(cluster, dict(ca_file=cluster.certs.rogue_ca),
                         ("certificate", "verify", "issuer", "untrusted"))


def test_node_certificate_with_another_name_is_refused(cluster):
    """The nodes' certificate names 127.0.0.1 and localhost, not the configured server_name."""
    assert_nodes_refused(cluster, dict(server_name="db.example.org"),
                   ("name", "mismatch", "hostname", "db.example.org"))


def _write_config(text):
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"slotgate-tls-{os.getpid()}.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def test_missing_certificate_files_rejected_at_start(cluster):
    certs = cluster.certs
    text = (f'listen: "{HOST}:1"\nseeds: ["{HOST}:3"]\n'
            f'tls:\n  listen: "{HOST}:2"\n  cert_file: {certs.proxy.crt}\n  key_file: /nonexistent/server.key\n'
            f"backend:\n  tls:\n    enabled: true\n    ca_file: /nonexistent/cluster-ca.crt\n")
    path = _write_config(text)
    try:
        for args in (["--check-config", path], ["-c", path, "--seeds", f"{HOST}:1", "--admin-listen", "off"]):
            out = subprocess.run([slotgate_binary(), *args], capture_output=True, text=True, timeout=30)
            assert out.returncode == 2, out
            assert ":6: tls.key_file" in out.stderr and "/nonexistent/server.key" in out.stderr, out.stderr
            assert ":10: backend.tls.ca_file" in out.stderr, out.stderr
        # The same with the real files: valid.
        _write_config(text.replace("/nonexistent/server.key", certs.proxy.key)
                      .replace("/nonexistent/cluster-ca.crt", certs.ca))
        out = subprocess.run([slotgate_binary(), "--check-config", path], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out
    finally:
        os.unlink(path)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, *sys.argv[1:]]))
