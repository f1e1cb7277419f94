#!/usr/bin/env python3
"""Captures REAL `CLUSTER SHARDS` and `CLUSTER SLOTS` replies, byte for byte, as golden test data.

Starts a throw-away 3-primary + 3-replica Redis Cluster (redis-server 7.0) on free loopback ports
below 32768 (data and cluster-bus ports both chosen explicitly, below the ephemeral range), creates
it with `redis-cli --cluster create ... --cluster-replicas 1 --cluster-yes`, waits until every node
reports cluster_state:ok and the first node sees every replica online, then sends each command
over a raw socket (RESP2) to the first node and stores the reply bytes exactly as received:

    test/data/cluster_shards_3x1.resp
    test/data/cluster_slots_3x1.resp

All nodes are stopped and the temporary directory removed on exit. Ports and node ids differ on
every run; the unit tests (test/unit/cluster/topology_parser_test.cc) only rely on the shape:
16384 slots over 3 primaries, 6 nodes on 127.0.0.1, one replica per primary.

    python3 tools/capture_cluster_replies.py [output_dir]   (default: test/data)
"""

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HOST = "127.0.0.1"
NODES = 6


def free_ports(count):
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        ephemeral_low = int(f.read().split()[0])
    hi = min(31000, ephemeral_low - 1)
    ports = set()
    while len(ports) < count:
        port = random.randint(20000, hi)
        if port in ports:
            continue
        s = socket.socket()
        try:
            s.bind((HOST, port))
            ports.add(port)
        except OSError:
            pass
        finally:
            s.close()
    return sorted(ports)


def command(args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def read_reply(f):
    """Reads one RESP2 reply; returns (raw bytes, decoded value)."""
    line = f.readline()
    if not line.endswith(b"\r\n"):
        raise RuntimeError("connection closed")
    kind, body = line[:1], line[1:-2]
    if kind in (b"+", b"-"):
        return line, body.decode()
    if kind == b":":
        return line, int(body)
    if kind == b"$":
        n = int(body)
        if n < 0:
            return line, None
        data = f.read(n + 2)
        return line + data, data[:-2]
    if kind == b"*":
        n = int(body)
        raw, items = line, []
        for _ in range(max(n, 0)):
            r, v = read_reply(f)
            raw += r
            items.append(v)
        return raw, items if n >= 0 else None
    raise RuntimeError("unexpected reply type %r" % line)


def call(port, *args):
    with socket.create_connection((HOST, port), timeout=10) as sock:
        sock.sendall(command(args))
        return read_reply(sock.makefile("rb"))


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        try:
            if pred():
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError("timed out waiting for " + what)
        time.sleep(0.1)


def cluster_ok(port):
    info = call(port, "CLUSTER", "INFO")[1].decode()
    return "cluster_state:ok" in info


def shards_settled(port):
    shards = call(port, "CLUSTER", "SHARDS")[1]
    nodes = 0
    for shard in shards:
        fields = dict(zip(shard[::2], shard[1::2]))
        for node in fields[b"nodes"]:
            node = dict(zip(node[::2], node[1::2]))
            if node[b"health"] != b"online":
                return False
            nodes += 1
    slots = call(port, "CLUSTER", "SLOTS")[1]
    return len(shards) == 3 and nodes == NODES and all(len(r) == 4 for r in slots)


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "test", "data")
    tmp = tempfile.mkdtemp(prefix="slotgate-capture-")
    ports = free_ports(2 * NODES)
    data_ports, bus_ports = ports[:NODES], ports[NODES:]
    procs = []
    try:
        for port, bus in zip(data_ports, bus_ports):
            d = os.path.join(tmp, str(port))
            os.mkdir(d)
            procs.append(subprocess.Popen(
                ["redis-server", "--port", str(port), "--bind", HOST, "--cluster-enabled", "yes",
                 "--cluster-port", str(bus), "--cluster-config-file", os.path.join(d, "nodes.conf"),
                 "--save", "", "--appendonly", "no", "--dir", d,
                 "--logfile", os.path.join(d, "redis.log")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for port in data_ports:
            wait_until(lambda: call(port, "PING")[1] == "PONG", 10, "node %d" % port)
        subprocess.run(["redis-cli", "--cluster", "create"] +
                       ["%s:%d" % (HOST, p) for p in data_ports] +
                       ["--cluster-replicas", "1", "--cluster-yes"],
                       check=True, stdout=subprocess.DEVNULL, timeout=60)
        for port in data_ports:
            wait_until(lambda: cluster_ok(port), 60, "cluster_state:ok on %d" % port)
        wait_until(lambda: shards_settled(data_ports[0]), 60, "replicas online")
        for name, args in (("cluster_shards_3x1.resp", ("CLUSTER", "SHARDS")),
                           ("cluster_slots_3x1.resp", ("CLUSTER", "SLOTS"))):
            raw, _ = call(data_ports[0], *args)
            with open(os.path.join(out_dir, name), "wb") as f:
                f.write(raw)
            print("wrote %s (%d bytes) from %s:%d" % (name, len(raw), HOST, data_ports[0]))
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
