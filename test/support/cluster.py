"""Real-cluster test harness for slotgate's integration tests.

Starts a throw-away Redis Cluster of real redis-server processes on loopback and a slotgate in
front of it. Everything is bounded in time; every process this module starts is stopped on exit
(and killed by the kernel if the test process itself dies). The tests use these classes through
the pytest fixtures in test/integration/conftest.py (`cluster`, `gate`); a test may also start
more of them itself:

    with RedisCluster(3, 0) as cluster, Slotgate(slotgate_binary(), cluster.seeds()) as gate:
        r = gate.client()
        ...

Run this file directly (`python3 test/support/cluster.py`) to self-check the harness against a
real cluster without slotgate.
"""

import ctypes
import inspect
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

import redis

HOST = "127.0.0.1"
# Listening ports are chosen below the kernel's ephemeral range so that no outgoing connection
# (ours, redis-cli's, the nodes' bus links) can ever take a port a node is about to listen on.
PORT_RANGE = (20000, 30000)
ALL_SLOTS = 16384


# ----------------------------------------------------------------------------------------------
# Small utilities
# ----------------------------------------------------------------------------------------------

def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_reserved_ports = set()
_reserved_lock = threading.Lock()


def free_port():
    """A port in PORT_RANGE (and below the ephemeral range) that nobody listens on right now."""
    lo, hi = PORT_RANGE[0], min(PORT_RANGE[1], _ephemeral_low() - 1)
    for _ in range(2000):
        port = random.randint(lo, hi)
        with _reserved_lock:
            if port in _reserved_ports:
                continue
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((HOST, port))  # no SO_REUSEADDR: also refuses ports lingering in TIME_WAIT
        except OSError:
            continue
        finally:
            s.close()
        with _reserved_lock:
            _reserved_ports.add(port)
        return port
    raise RuntimeError("no free port found in %r" % (PORT_RANGE,))


def free_port_pair(offset=10000, lo=12000):
    """A free port p with p + offset free too, both below the ephemeral range: a node whose bus
    port is Redis's default (data port + 10000)."""
    hi = min(PORT_RANGE[1], _ephemeral_low() - 1) - offset
    for _ in range(2000):
        port = random.randint(lo, hi)
        with _reserved_lock:
            if port in _reserved_ports or port + offset in _reserved_ports:
                continue
        if not (port_is_free(port) and port_is_free(port + offset)):
            continue
        with _reserved_lock:
            _reserved_ports.update((port, port + offset))
        return port
    raise RuntimeError("no free port pair found")


def port_is_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((HOST, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def wait_until(pred, timeout, interval=0.1, what="condition"):
    """Polls pred() until it returns a truthy value (returned) or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            value = pred()
            if value:
                return value
        except Exception as e:  # the thing we wait for may still be starting
            last_exc = e
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_exc!r})" if last_exc else ""
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}{detail}")
        time.sleep(interval)


def tail(path, lines=40):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return f"<cannot read {path}: {e}>"
    text = data.decode("utf-8", "replace").splitlines()
    return "\n".join(text[-lines:])


_libc = None


def _die_with_parent():
    """preexec_fn: the child gets SIGKILL when the (spawning thread of the) test process dies, so
    a test killed by ctest's timeout leaves no redis-server or slotgate behind."""
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL("libc.so.6", use_errno=True)
        _libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass
    os.setpgrp()  # Ctrl-C in a terminal reaches only the test process, which then cleans up


def spawn(args, logfile, cwd=None):
    out = open(logfile, "ab")
    try:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=cwd, preexec_fn=_die_with_parent)
    finally:
        out.close()


def stop_process(proc, grace=5.0):
    """SIGTERM, then SIGKILL after `grace` seconds. Returns (returncode, needed_kill)."""
    if proc.poll() is not None:
        return proc.returncode, False
    try:
        proc.send_signal(signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=grace)
        return proc.returncode, False
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        return proc.returncode, True


def _install_sigterm_handler():
    """Turns SIGTERM (e.g. from a test driver) into SystemExit so context managers clean up."""
    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, handler)


# Slots and raw RESP live in resp_client; tests import them from here as well.
from resp_client import (RawConnection, RespError, _as_bytes, crc16, encode_command,  # noqa: F401,E402
                         key_slot, tag_for_slot)


# ----------------------------------------------------------------------------------------------
# Redis Cluster
# ----------------------------------------------------------------------------------------------

class Node:
    def __init__(self, port, cport, dir, plain_port=None):
        self.host = HOST
        self.port = port  # in a TLS cluster, the TLS port (what CLUSTER SLOTS says over TLS)
        self.plain_port = plain_port  # a TLS cluster's plain port too (tls=True), else None
        self.cport = cport
        self.dir = dir
        self.id = None
        self.role = None  # "master" or "replica"
        self.master_id = None
        self.proc = None

    @property
    def addr(self):
        return f"{self.host}:{self.port}"

    @property
    def logfile(self):
        return os.path.join(self.dir, "redis.log")

    def __repr__(self):
        return f"Node({self.addr} cport={self.cport} {self.role} {self.id and self.id[:8]})"


def _parse_cluster_nodes(text):
    """CLUSTER NODES text -> list of dicts (id, host, port, cport, flags, master_id, slots)."""
    if isinstance(text, bytes):
        text = text.decode()
    out = []
    for line in text.strip().splitlines():
        f = line.split()
        addr = f[1].split(",")[0]  # ip:port@cport[,hostname]
        hostport, _, cport = addr.partition("@")
        host, _, port = hostport.rpartition(":")
        slots, importing = set(), False
        for s in f[8:]:
            if s.startswith("["):
                importing = True
                continue
            if "-" in s:
                a, b = s.split("-")
                slots.update(range(int(a), int(b) + 1))
            else:
                slots.add(int(s))
        out.append(dict(id=f[0], host=host, port=int(port), cport=int(cport or 0),
                        flags=set(f[2].split(",")), master_id=None if f[3] == "-" else f[3],
                        link=f[7], slots=slots, migrating=importing))
    return out


def _normalize_slots(reply):
    """CLUSTER SLOTS reply -> comparable tuple (replica order does not matter)."""
    norm = []
    for entry in reply:
        start, end, master = entry[0], entry[1], entry[2]
        replicas = sorted((_as_bytes(r[0]), int(r[1]), _as_bytes(r[2])) for r in entry[3:])
        norm.append((int(start), int(end), (_as_bytes(master[0]), int(master[1]), _as_bytes(master[2])),
                     tuple(replicas)))
    return tuple(sorted(norm))


class RedisCluster:
    """A real Redis Cluster on loopback: `with RedisCluster() as c: ...`."""

    # tls=: False, a plain cluster; True, each node serves TLS (node.port) and plain
    # (node.plain_port) clients; "only", TLS alone (port 0); "mutual", TLS alone and clients must
    # present a certificate (tls-auth-clients yes). In every TLS mode the bus and replication are
    # TLS too, bus port = node.port + 10000, and the certificates are self.certs (tls_certs.Certs,
    # made in the cluster's directory unless given).
    TLS_MODES = (False, True, "only", "mutual")

    def __init__(self, masters=3, replicas_per_master=1, node_timeout=2000, startup_timeout=30.0,
                 extra_config=None, keep_dir=False, tls=False, certs=None):
        if tls not in self.TLS_MODES:
            raise ValueError(f"tls={tls!r}: one of {self.TLS_MODES}")
        self.tls = tls
        self.certs = certs
        self.n_masters = masters
        self.replicas_per_master = replicas_per_master
        self.node_timeout = node_timeout
        self.startup_timeout = startup_timeout
        self.extra_config = extra_config or {}
        self.keep_dir = keep_dir or bool(os.environ.get("SLOTGATE_KEEP_TMP"))
        self.dir = None
        self.nodes = []
        self._clients = {}

    # -- lifecycle -------------------------------------------------------------------------------

    def __enter__(self):
        _install_sigterm_handler()
        self.dir = tempfile.mkdtemp(prefix="slotgate-cluster-")
        try:
            if self.tls and self.certs is None:
                from tls_certs import Certs
                self.certs = Certs(os.path.join(self.dir, "certs"))
            self._start_nodes()
            self._create_cluster()
            self.wait_stable(self.startup_timeout)
        except BaseException:
            self.dump_logs()
            self.stop()
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and not (exc_type is SystemExit and not exc.code):
            self.dump_logs()
        self.stop()
        return False

    def _write_config(self, node):
        conf = {
            "port": node.plain_port or 0 if self.tls else node.port,
            "cluster-port": node.cport,
            "bind": HOST,
            "protected-mode": "no",
            "daemonize": "no",
            "cluster-enabled": "yes",
            "cluster-config-file": "nodes.conf",
            "cluster-node-timeout": self.node_timeout,
            "appendonly": "no",
            "save": "''",
            "dir": node.dir,
            "logfile": node.logfile,
            "loglevel": "notice",
            "pidfile": os.path.join(node.dir, "redis.pid"),
        }
        if self.tls:
            conf.update({
                "tls-port": node.port,
                "tls-cert-file": self.certs.node.crt,
                "tls-key-file": self.certs.node.key,
                "tls-ca-cert-file": self.certs.ca,
                "tls-cluster": "yes",
                "tls-replication": "yes",
                "tls-auth-clients": "yes" if self.tls == "mutual" else "no",
            })
        conf.update(self.extra_config)
        path = os.path.join(node.dir, "redis.conf")
        with open(path, "w") as f:
            for k, v in conf.items():
                f.write(f"{k} {v}\n")
        return path

    def _start_node(self, index):
        for attempt in range(5):
            if self.tls:
                port = free_port_pair()
                node = Node(port, port + 10000, os.path.join(self.dir, f"node{index}-{port}"),
                            plain_port=free_port() if self.tls is True else None)
            else:
                port, cport = free_port(), free_port()
                node = Node(port, cport, os.path.join(self.dir, f"node{index}-{port}"))
            os.makedirs(node.dir, exist_ok=True)
            conf = self._write_config(node)
            node.proc = spawn(["redis-server", conf], os.path.join(node.dir, "stdout.log"), cwd=node.dir)
            try:
                wait_until(lambda: node.proc.poll() is not None or self._ping(node), 10.0,
                           what=f"redis-server on port {port}")
            except TimeoutError:
                stop_process(node.proc)
                raise
            if node.proc.poll() is None:
                return node
            # Most likely someone took the port between our check and redis's bind: try again.
            log(f"redis-server on {port}/{cport} exited at start (attempt {attempt + 1}):\n{tail(node.logfile, 10)}")
        raise RuntimeError("could not start a redis-server node")

    def _ping(self, node):
        try:
            return redis.Redis(host=node.host, port=node.port, socket_timeout=1,
                               socket_connect_timeout=1, **self.tls_kwargs()).ping()
        except redis.RedisError:
            return False

    def _start_nodes(self):
        total = self.n_masters * (1 + self.replicas_per_master)
        for i in range(total):
            self.nodes.append(self._start_node(i))

    def _create_cluster(self):
        if self.n_masters < 3:
            return self._create_small_cluster()  # redis-cli --cluster create wants >= 3 masters
        args = ["redis-cli", *self.cli_tls_args(), "--cluster", "create"] + [n.addr for n in self.nodes] + [
            "--cluster-replicas", str(self.replicas_per_master), "--cluster-yes"]
        res = subprocess.run(args, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        out = res.stdout.decode(errors="replace") + res.stderr.decode(errors="replace")
        if res.returncode != 0 or "[OK] All 16384 slots covered" not in out:
            raise RuntimeError(f"redis-cli --cluster create failed (rc={res.returncode}):\n{out}")

    def _create_small_cluster(self):
        masters = self.nodes[:self.n_masters]
        per = ALL_SLOTS // self.n_masters
        for i, m in enumerate(masters):
            end = ALL_SLOTS - 1 if i == self.n_masters - 1 else (i + 1) * per - 1
            self.client(m).execute_command("CLUSTER", "ADDSLOTSRANGE", i * per, end)
        for n in self.nodes[1:]:
            self.client(n).execute_command("CLUSTER", "MEET", HOST, self.nodes[0].port,
                                           self.nodes[0].cport)
        ids = {m.port: self.client(m).execute_command("CLUSTER", "MYID").decode() for m in masters}
        for i, n in enumerate(self.nodes[self.n_masters:]):
            master_id = ids[masters[i % self.n_masters].port]
            wait_until(lambda: master_id.encode() in self.client(n).execute_command("CLUSTER", "NODES"),
                       10.0, what="replica to learn its master")
            self.client(n).execute_command("CLUSTER", "REPLICATE", master_id)

    def stop(self):
        """Stops all nodes (SIGTERM, then SIGKILL) and removes the temp dir."""
        for c in self._clients.values():
            try:
                c.close()
            except Exception:
                pass
        self._clients.clear()
        for n in self.nodes:
            if n.proc is not None and n.proc.poll() is None:
                try:
                    n.proc.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for n in self.nodes:
            if n.proc is not None:
                stop_process(n.proc, grace=5.0)
        with _reserved_lock:
            for n in self.nodes:
                _reserved_ports.discard(n.port)
                _reserved_ports.discard(n.cport)
                _reserved_ports.discard(n.plain_port)
        if self.dir and not self.keep_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        elif self.dir:
            log(f"kept cluster dir {self.dir}")

    def dump_logs(self, lines=30):
        for n in self.nodes:
            print(f"----- tail of {n.logfile} ({n.addr}) -----", flush=True)
            print(tail(n.logfile, lines), flush=True)

    # -- node / client helpers -------------------------------------------------------------------

    def client(self, node, **kwargs):
        """redis.Redis talking directly to one node (cached when called without kwargs); over TLS
        in a TLS cluster, with the nodes' own certificate as client certificate."""
        if kwargs:
            return redis.Redis(host=node.host, port=node.port, **{**self.tls_kwargs(), **kwargs})
        c = self._clients.get(node.port)
        if c is None:
            c = redis.Redis(host=node.host, port=node.port, socket_timeout=30, **self.tls_kwargs())
            self._clients[node.port] = c
        return c

    def tls_kwargs(self):
        """redis.Redis keyword arguments that reach a node of this cluster (none if plain)."""
        if not self.tls:
            return {}
        return dict(ssl=True, ssl_ca_certs=self.certs.ca, ssl_certfile=self.certs.node.crt,
                    ssl_keyfile=self.certs.node.key)

    def cli_tls_args(self):
        """redis-cli / redis-benchmark options that reach a node of this cluster (none if plain)."""
        if not self.tls:
            return []
        return ["--tls", "--cacert", self.certs.ca, "--cert", self.certs.node.crt, "--key", self.certs.node.key]

    def node_by_id(self, node_id):
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    def node_by_port(self, port):
        for n in self.nodes:
            if int(port) in (n.port, n.plain_port):
                return n
        raise KeyError(port)

    def masters(self):
        return [n for n in self.nodes if n.role == "master"]

    def replicas(self):
        return [n for n in self.nodes if n.role == "replica"]

    def seeds(self):
        """Every node's address (in a TLS cluster its TLS port), comma-separated."""
        return ",".join(n.addr for n in self.nodes)

    def plain_seeds(self):
        """Every node's plain address: a tls=True cluster's plain ports, a plain cluster's ports."""
        return ",".join(f"{n.host}:{n.plain_port or n.port}" for n in self.nodes)

    def slot_of(self, key):
        """CLUSTER KEYSLOT as answered by a real node."""
        return int(self.client(self.nodes[0]).execute_command("CLUSTER", "KEYSLOT", key))

    def _claimed_slots(self):
        """{node: set(slots)} as each live master claims for itself right now."""
        out = {}
        for n in self.nodes:
            if n.proc is None or n.proc.poll() is not None:
                continue
            for e in _parse_cluster_nodes(self.client(n).execute_command("CLUSTER", "NODES")):
                if "myself" in e["flags"] and "master" in e["flags"]:
                    out[n] = e["slots"]
        return out

    def owner_of(self, key):
        """The master that owns key's slot now (the node that claims it in its own view)."""
        slot = self.slot_of(key)
        owners = [n for n, slots in self._claimed_slots().items() if slot in slots]
        if len(owners) != 1:
            raise RuntimeError(f"slot {slot} claimed by {owners}")
        return owners[0]

    def slot_owners(self):
        """[node] * 16384 from CLUSTER SLOTS of the first master (fast bulk lookup)."""
        owners = [None] * ALL_SLOTS
        reply = self.client([m for m in self.masters() if m in self.live()][0]).execute_command("CLUSTER", "SLOTS")
        for entry in reply:
            node = self.node_by_port(entry[2][1])
            for s in range(int(entry[0]), int(entry[1]) + 1):
                owners[s] = node
        return owners

    def slots_of(self, node):
        return sorted(self._claimed_slots().get(node, set()))

    # -- topology --------------------------------------------------------------------------------

    def live(self):
        return [n for n in self.nodes if n.proc is not None and n.proc.poll() is None]

    def _refresh_roles(self):
        view = _parse_cluster_nodes(self.client(self.live()[0]).execute_command("CLUSTER", "NODES"))
        by_port = {e["port"]: e for e in view}
        for n in self.nodes:
            if n.proc is None or n.proc.poll() is not None:
                continue
            e = by_port.get(n.port)
            if e is None:
                return False
            n.id = e["id"]
            n.role = "master" if "master" in e["flags"] else "replica"
            n.master_id = e["master_id"]
        return True

    def _stable_now(self, check_replicas):
        """True when stable; else False, with the reason kept in self.unstable_because."""
        def no(reason):
            self.unstable_because = reason
            return False
        live = [n for n in self.nodes if n.proc is not None and n.proc.poll() is None]
        live_ports = {x.port for x in live}
        views = []
        for n in live:
            c = self.client(n)
            info = c.execute_command("CLUSTER", "INFO")
            if isinstance(info, bytes):
                info = info.decode()
            if "cluster_state:ok" not in info:
                return no(f"{n.addr}: cluster_state is not ok")
            nodes = _parse_cluster_nodes(c.execute_command("CLUSTER", "NODES"))
            if any(e["migrating"] for e in nodes if "myself" in e["flags"]):
                return no(f"{n.addr}: a slot is still importing/migrating")
            for e in nodes:
                if e["port"] in live_ports and (e["link"] != "connected" or
                        {"fail", "fail?", "handshake"} & set(e["flags"])):
                    return no(f"{n.addr} sees :{e['port']} as {','.join(e['flags'])} {e['link']}")
            views.append((n, _normalize_slots(c.execute_command("CLUSTER", "SLOTS"))))
        if not views:
            return no("no live node")
        for n, v in views:
            if v != views[0][1]:
                return no(f"CLUSTER SLOTS differ: {views[0][0].addr} {views[0][1]} vs {n.addr} {v}")
        first = views[0][1]
        if sum(e[1] - e[0] + 1 for e in first) != ALL_SLOTS:
            return no(f"slots not all covered: {first}")
        if check_replicas:
            for e in first:
                if len(e[3]) != self.replicas_per_master:
                    return no(f"slots {e[0]}-{e[1]} have replicas {e[3]}, "
                              f"want {self.replicas_per_master}")
        return self._refresh_roles() or no("a live node is missing from CLUSTER NODES")

    # -- operations on the cluster (kill, restart, failover, add-node, del-node) -------------------

    def kill(self, node):
        """kill -9 of one node's process."""
        node.proc.kill()
        node.proc.wait(timeout=10)

    def restart(self, node):
        """Starts a killed node again with its own config and nodes.conf (same id, ports, dir)."""
        assert node.proc is None or node.proc.poll() is not None, f"{node} is still running"
        node.proc = spawn(["redis-server", os.path.join(node.dir, "redis.conf")],
                          os.path.join(node.dir, "stdout.log"), cwd=node.dir)
        wait_until(lambda: self._ping(node), 15.0, what=f"restarted redis-server {node.addr}")

    def failover(self, replica, timeout=30.0):
        """CLUSTER FAILOVER on `replica`; waits until it is a master and the cluster is stable."""
        self.client(replica).execute_command("CLUSTER", "FAILOVER")
        def promoted():
            for e in _parse_cluster_nodes(self.client(replica).execute_command("CLUSTER", "NODES")):
                if "myself" in e["flags"]:
                    return "master" in e["flags"]
            return False
        wait_until(promoted, timeout, what=f"{replica} to become master")
        self.wait_stable(timeout)

    def add_node(self, timeout=30.0):
        """Starts a new empty node and joins it as a master with redis-cli --cluster add-node."""
        node = self._start_node(len(self.nodes))
        existing = next(n for n in self.nodes if n.proc is not None and n.proc.poll() is None)
        res = subprocess.run(["redis-cli", *self.cli_tls_args(), "--cluster", "add-node", node.addr, existing.addr],
                             capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        out = res.stdout.decode(errors="replace") + res.stderr.decode(errors="replace")
        if res.returncode != 0 or "[OK] New node added correctly" not in out:
            stop_process(node.proc)
            raise RuntimeError(f"redis-cli --cluster add-node failed (rc={res.returncode}):\n{out}")
        self.nodes.append(node)
        node.id = self.client(node).execute_command("CLUSTER", "MYID").decode()

        def everyone_knows():
            for n in self.live():
                view = {e["id"]: e for e in _parse_cluster_nodes(self.client(n).execute_command("CLUSTER", "NODES"))}
                e = view.get(node.id)
                if e is None or "handshake" in e["flags"] or e["link"] != "connected":
                    return False
            return True
        # SETSLOT NODE fails on a node that has not met the new one yet: wait until all have.
        wait_until(everyone_knows, timeout, what=f"every node to know {node}")
        self.wait_stable(timeout, check_replicas=False)
        return node

    def del_node(self, node, timeout=30.0):
        """redis-cli --cluster del-node (the node must hold no slots); redis-cli shuts it down."""
        existing = next(n for n in self.nodes if n is not node and n.proc is not None and n.proc.poll() is None)
        res = subprocess.run(["redis-cli", *self.cli_tls_args(), "--cluster", "del-node", existing.addr, node.id],
                             capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        out = res.stdout.decode(errors="replace") + res.stderr.decode(errors="replace")
        if res.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster del-node failed (rc={res.returncode}):\n{out}")
        try:
            node.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            stop_process(node.proc)
        self.nodes.remove(node)
        with _reserved_lock:
            _reserved_ports.discard(node.port)
            _reserved_ports.discard(node.cport)
        self.wait_stable(timeout, check_replicas=False)

    def wait_stable(self, timeout=30.0, check_replicas=True):
        """Waits until every live node says cluster_state:ok, no slot is migrating, links are up,
        and all nodes report the same CLUSTER SLOTS covering all 16384 slots."""
        try:
            wait_until(lambda: self._stable_now(check_replicas), timeout, interval=0.2,
                       what="cluster to be stable (cluster_state:ok, identical CLUSTER SLOTS)")
        except TimeoutError:
            log(f"not stable because {getattr(self, 'unstable_because', '?')}")
            for n in self.live():
                try:
                    log(f"{n.addr} sees:\n" + self.client(n).execute_command("CLUSTER", "NODES").decode())
                except Exception as e:
                    log(f"{n.addr}: {e!r}")
            raise

    def reshard(self, src, dst, nslots, timeout=300.0, check_replicas=True):
        """Moves nslots slots (with their keys) from master src to master dst with redis-cli."""
        args = ["redis-cli", *self.cli_tls_args(), "--cluster", "reshard", src.addr, "--cluster-from", src.id,
                "--cluster-to", dst.id, "--cluster-slots", str(nslots), "--cluster-yes"]
        res = subprocess.run(args, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL,
                             preexec_fn=_die_with_parent)
        out = res.stdout.decode(errors="replace") + res.stderr.decode(errors="replace")
        if res.returncode != 0 or "[ERR]" in out:
            raise RuntimeError(f"redis-cli --cluster reshard failed (rc={res.returncode}):\n{out[-4000:]}")
        self.wait_stable(check_replicas=check_replicas)
        return out


# ----------------------------------------------------------------------------------------------
# slotgate
# ----------------------------------------------------------------------------------------------

def slotgate_binary():
    path = os.environ.get("SLOTGATE_BIN")
    if not path:
        raise RuntimeError("SLOTGATE_BIN is not set (path of the built slotgate binary)")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"SLOTGATE_BIN={path} is not an executable file")
    return path


class Slotgate:
    """A slotgate process in front of a cluster: `with Slotgate(bin, cluster.seeds()) as g: ...`."""

    READY_TIMEOUT = 20.0

    def __init__(self, binary, seeds, port=None, threads=2, extra_args=(), log_level="debug",
                 admin=False, certs=None, client_tls=None, backend_tls=None, config=None,
                 ready="data", plain_listen=True):
        """`admin`: serve the admin HTTP port on a free port (self.admin_port); else it is off, so
        that concurrent test runs never meet on the default port.

        TLS (certificates from `certs`, a tls_certs.Certs; settings written to a YAML file given
        with -c, self.config_path, besides the command-line options):
          client_tls   True: also serve TLS clients on self.tls_port (tls.listen) with
                       certs.proxy; "mutual": and verify their certificates against certs.ca;
                       a dict: those `tls:` keys over True's
          backend_tls  True: TLS to the nodes, trusting certs.ca; "mutual": and present
                       certs.gate_client; a dict: those `backend.tls:` keys over True's
          config       any other settings, as nested dicts (written to the same file)
        `ready`: what start() waits for: "data" (a SET and GET through slotgate work),
        "listening" (the port answers PING with anything, e.g. when the nodes cannot be reached).
        `plain_listen=False`: no plain port (--listen off; self.port is None), TLS clients only."""
        self.binary = binary
        self.admin = admin
        self.admin_port = None
        self.certs = certs
        self.client_tls = client_tls
        self.backend_tls = backend_tls
        self.config = config or {}
        self.ready = ready
        self.tls_port = None
        self.config_path = None
        self.plain_listen = plain_listen
        self.seeds = seeds
        self.port = port
        self.threads = threads
        self.extra_args = list(extra_args)
        self.log_level = log_level
        self.proc = None
        self.dir = None
        self.stopped = False
        self.problems = []  # crash / bad exit findings, filled by stop()

    @property
    def logfile(self):
        return os.path.join(self.dir, "slotgate.log")

    @property
    def addr(self):
        return f"{HOST}:{self.port}"

    def __enter__(self):
        _install_sigterm_handler()
        self.dir = tempfile.mkdtemp(prefix="slotgate-proxy-")
        try:
            self.start()
        except BaseException:
            self.dump_log()
            self._cleanup(force=True)
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        self.stop()
        failing = exc_type is not None and not (exc_type is SystemExit and not exc.code)
        if failing or self.problems:
            self.dump_log()
        self._cleanup()
        if self.problems and exc_type is None:
            raise AssertionError("slotgate: " + "; ".join(self.problems))
        return False

    def start(self):
        fixed_port = self.port is not None
        for attempt in range(3):
            port = self.port if fixed_port else free_port() if self.plain_listen else None
            if self.admin:
                self.admin_port = self.admin_port or free_port()
            admin = f"{HOST}:{self.admin_port}" if self.admin else "off"
            args = [self.binary, "--seeds", self.seeds, "--listen", f"{HOST}:{port}" if port else "off",
                    "--threads", str(self.threads), "--log-level", self.log_level,
                    "--admin-listen", admin] + self._config_args() + self.extra_args
            with open(self.logfile, "ab") as f:
                f.write(("$ " + " ".join(args) + "\n").encode())
            self.proc = spawn(args, self.logfile)
            self.port = port
            try:
                return self._wait_ready()
            except _ExitedEarly as e:
                # Someone may have taken our port between the check and slotgate's bind.
                if fixed_port or attempt == 2 or "in use" not in tail(self.logfile, 20).lower():
                    raise RuntimeError(f"{e}; log: {self.logfile}") from None
                log(f"slotgate could not listen on {port}, retrying on another port")

    def settings(self):
        """The YAML file's settings: `config` with the client_tls and backend_tls sections."""
        conf = {k: dict(v) if isinstance(v, dict) else v for k, v in self.config.items()}
        if self.client_tls:
            if self.tls_port is None:
                self.tls_port = free_port()
            tls = dict(listen=f"{HOST}:{self.tls_port}", cert_file=self.certs.proxy.crt,
                       key_file=self.certs.proxy.key)
            if self.client_tls == "mutual":
                tls.update(ca_file=self.certs.ca, verify_clients=True)
            if isinstance(self.client_tls, dict):
                tls.update(self.client_tls)
            conf["tls"] = {**tls, **conf.get("tls", {})}
        if self.backend_tls:
            tls = dict(enabled=True, ca_file=self.certs.ca)
            if self.backend_tls == "mutual":
                tls.update(cert_file=self.certs.gate_client.crt, key_file=self.certs.gate_client.key)
            if isinstance(self.backend_tls, dict):
                tls.update(self.backend_tls)
            backend = conf.setdefault("backend", {})
            backend["tls"] = {**tls, **backend.get("tls", {})}
        return conf

    def write_config(self):
        """(Re)writes self.config_path from settings(), atomically (a reload may read it)."""
        if self.config_path is None:
            self.config_path = os.path.join(self.dir, "slotgate.yaml")
        with open(self.config_path + ".tmp", "w") as f:
            f.write(yaml_text(self.settings()) + "\n")
        os.replace(self.config_path + ".tmp", self.config_path)

    def _config_args(self):
        if not (self.config or self.client_tls or self.backend_tls):
            return []
        if "-c" in self.extra_args or "--config" in self.extra_args:
            raise ValueError("Slotgate: give settings either as a config file in extra_args or as "
                             "config/client_tls/backend_tls, not both")
        self.write_config()
        return ["-c", self.config_path]

    def _wait_ready(self):
        if self.ready == "listening":
            return self._wait_listening()
        probe_key = "slotgate:ready:probe"
        deadline = time.monotonic() + self.READY_TIMEOUT
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise _ExitedEarly(f"slotgate exited during start-up with code {self.proc.returncode}")
            try:
                c = self.client(tls=not self.plain_listen, socket_timeout=2, socket_connect_timeout=1)
                try:
                    c.set(probe_key, "1")
                    if c.get(probe_key) == b"1":
                        return
                finally:
                    c.connection_pool.disconnect()  # close() alone leaves the socket to the GC
            except (redis.RedisError, OSError) as e:
                last = e
            time.sleep(0.1)
        raise TimeoutError(f"slotgate not ready after {self.READY_TIMEOUT}s (last error: {last!r})")

    def _wait_listening(self):
        deadline = time.monotonic() + self.READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise _ExitedEarly(f"slotgate exited during start-up with code {self.proc.returncode}")
            try:
                with self.raw(timeout=2, tls=not self.plain_listen) as c:
                    c.call("PING")
                    return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(f"slotgate not listening after {self.READY_TIMEOUT}s")

    def client(self, tls=False, cert=None, **kwargs):
        """A plain (non-cluster) redis.Redis talking to slotgate; tls=True: on its TLS port,
        trusting certs.ca, presenting `cert` (a tls_certs.Pair; default certs.app when slotgate
        verifies clients)."""
        kwargs.setdefault("socket_timeout", 30)
        if tls:
            return redis.Redis(host=HOST, port=self.tls_port, **self.client_tls_kwargs(cert), **kwargs)
        return redis.Redis(host=HOST, port=self.port, **kwargs)

    def _client_cert(self, cert):
        if cert is None and self.settings().get("tls", {}).get("verify_clients"):
            return self.certs.app
        return cert

    def client_tls_kwargs(self, cert=None):
        kw = dict(ssl=True, ssl_ca_certs=self.certs.ca)
        cert = self._client_cert(cert)
        if cert:
            kw.update(ssl_certfile=cert.crt, ssl_keyfile=cert.key)
        return kw

    def ssl_context(self, cert=None):
        """An ssl.SSLContext for the TLS port (trusting certs.ca, checking the name 127.0.0.1)."""
        import ssl
        ctx = ssl.create_default_context(cafile=self.certs.ca)
        cert = self._client_cert(cert)
        if cert:
            ctx.load_cert_chain(cert.crt, cert.key)
        return ctx

    def cli_args(self, tls=False, cert=None):
        """redis-cli / redis-benchmark options that reach this slotgate (-h, -p and TLS options)."""
        if not tls:
            return ["-h", HOST, "-p", str(self.port)]
        args = ["-h", HOST, "-p", str(self.tls_port), "--tls", "--cacert", self.certs.ca]
        cert = self._client_cert(cert)
        if cert:
            args += ["--cert", cert.crt, "--key", cert.key]
        return args

    def admin_get(self, path, timeout=10.0):
        """(status, body text) of GET path on the admin port."""
        import http.client
        conn = http.client.HTTPConnection(HOST, self.admin_port, timeout=timeout)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read().decode()
        finally:
            conn.close()

    def metrics(self):
        """/metrics as {'name{labels}': float}."""
        status, body = self.admin_get("/metrics")
        assert status == 200, (status, body)
        out = {}
        for line in body.splitlines():
            if not line or line.startswith("#"):
                continue
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
        return out

    def raw(self, timeout=30.0, tls=False, cert=None):
        if tls:
            return RawConnection(self.tls_port, timeout=timeout, ssl_context=self.ssl_context(cert))
        return RawConnection(self.port, timeout=timeout)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self):
        if self.proc is not None and self.proc.poll() is not None and not self.stopped:
            raise AssertionError(f"slotgate died unexpectedly: {describe_exit(self.proc.returncode)}")

    # SIGTERM drains for up to timeouts.shutdown_ms (10 s by default) before closing clients.
    STOP_GRACE = 15.0

    def stop(self):
        """SIGTERM, SIGKILL after STOP_GRACE s; records a problem if it crashed or did not stop in
        time."""
        if self.proc is None or self.stopped:
            return
        self.stopped = True
        died_before = self.proc.poll() is not None
        rc, killed = stop_process(self.proc, grace=self.STOP_GRACE)
        if died_before:
            self.problems.append(f"slotgate exited on its own before stop(): {describe_exit(rc)}")
        elif killed:
            self.problems.append(f"slotgate did not exit within {self.STOP_GRACE} s of SIGTERM (SIGKILLed)")
        elif rc not in (0, -signal.SIGTERM, 128 + signal.SIGTERM):
            self.problems.append(f"slotgate exited badly after SIGTERM: {describe_exit(rc)}")
        text = tail(self.logfile, 100000)
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                       "terminate called", "Segmentation fault"):
            if marker in text:
                self.problems.append(f"slotgate log contains {marker!r}")

    def dump_log(self, lines=60):
        if self.dir:
            print(f"----- tail of {self.logfile} -----", flush=True)
            print(tail(self.logfile, lines), flush=True)

    def _cleanup(self, force=False):
        if self.proc is not None and self.proc.poll() is None:
            stop_process(self.proc, grace=5.0 if not force else 1.0)
        if self.port is not None:
            with _reserved_lock:
                _reserved_ports.discard(self.port)
                _reserved_ports.discard(self.admin_port)
                _reserved_ports.discard(self.tls_port)
        if self.dir and not os.environ.get("SLOTGATE_KEEP_TMP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        elif self.dir:
            log(f"kept slotgate dir {self.dir}")


class _ExitedEarly(Exception):
    pass


def yaml_text(settings, indent=0):
    """Nested dicts of scalars and lists as block YAML, one key a line (so that a problem slotgate
    reports names a line of its own)."""
    import json
    lines = []
    for key, value in settings.items():
        if isinstance(value, dict):
            lines.append(" " * indent + f"{key}:")
            lines.append(yaml_text(value, indent + 2))
        elif isinstance(value, bool):
            lines.append(" " * indent + f"{key}: {'true' if value else 'false'}")
        else:
            lines.append(" " * indent + f"{key}: {json.dumps(value)}")
    return "\n".join(lines)


def describe_exit(rc):
    if rc is None:
        return "still running"
    if rc < 0:
        try:
            return f"killed by signal {signal.Signals(-rc).name}"
        except ValueError:
            return f"killed by signal {-rc}"
    return f"exit code {rc}"


# ----------------------------------------------------------------------------------------------
# Tiny test runner for the self-check below (the integration tests run under pytest)
# ----------------------------------------------------------------------------------------------

def run_tests(namespace, **fixtures):
    """Runs every test_* function of namespace (a module's globals()) in definition order, passing
    the fixtures its parameters name. SLOTGATE_TESTS=name,name runs only those. Prints PASS/FAIL
    per test and returns the number of failures. A fixture with a check_alive() method is checked
    after every test."""
    only = {t.strip() for t in os.environ.get("SLOTGATE_TESTS", "").split(",") if t.strip()}
    tests = [(name, fn) for name, fn in namespace.items()
             if name.startswith("test_") and callable(fn) and (not only or name in only)]
    passed = failed = 0
    for name, fn in tests:
        params = inspect.signature(fn).parameters
        kwargs = {p: fixtures[p] for p in params if p in fixtures}
        start = time.monotonic()
        try:
            fn(**kwargs)
            for f in fixtures.values():
                if hasattr(f, "check_alive"):
                    f.check_alive()
        except Exception:
            failed += 1
            print(f"FAIL {name} ({time.monotonic() - start:.1f}s)", flush=True)
            traceback.print_exc()
            sys.stderr.flush()
        else:
            passed += 1
            print(f"PASS {name} ({time.monotonic() - start:.1f}s)", flush=True)
    return passed, failed


# ----------------------------------------------------------------------------------------------
# Self-check of the harness against a real cluster (no slotgate needed)
# ----------------------------------------------------------------------------------------------

def _selftest():
    def test_topology(cluster):
        assert len(cluster.masters()) == 3 and len(cluster.replicas()) == 3, cluster.nodes
        for n in cluster.nodes:
            assert n.port < _ephemeral_low() and n.cport < _ephemeral_low(), n
            info = cluster.client(n).execute_command("CLUSTER", "NODES").decode()
            assert f"{n.port}@{n.cport}" in info, info

    def test_slots(cluster):
        for k in ["foo", "bar", "{user1000}.following", b"\x00\xff\r\n", "a{}b", "{}", "{a}{b}", "x{"]:
            assert key_slot(k) == cluster.slot_of(k), k

    def test_owner_of(cluster):
        seen = set()
        for i in range(200):
            k = f"k:{i}"
            owner = cluster.owner_of(k)
            c = cluster.client(owner)
            c.set(k, i)
            assert c.get(k) == str(i).encode()
            seen.add(owner.port)
            other = next(m for m in cluster.masters() if m is not owner)
            try:
                cluster.client(other).get(k)
                raise AssertionError("expected MOVED")
            except redis.ResponseError as e:
                assert str(e).startswith("MOVED"), e
        assert len(seen) == 3

    def test_reshard(cluster):
        src, dst = cluster.masters()[0], cluster.masters()[1]
        before_src, before_dst = cluster.slots_of(src), cluster.slots_of(dst)
        moving = before_src[:100]
        keys = [f"{{{tag_for_slot(s)}}}:v" for s in moving]
        for k in keys:
            cluster.client(src).set(k, k)
        t = time.monotonic()
        cluster.reshard(src, dst, 100)
        log(f"reshard of 100 slots took {time.monotonic() - t:.1f}s")
        assert cluster.slots_of(src) == before_src[100:]
        assert set(cluster.slots_of(dst)) == set(before_dst) | set(moving)
        for k in keys:
            assert cluster.owner_of(k) is dst
            assert cluster.client(dst).get(k) == k.encode()
        owners = cluster.slot_owners()
        assert all(owners[s] is dst for s in moving)

    with RedisCluster() as cluster:
        passed, failed = run_tests(locals(), cluster=cluster)
        pids = [n.proc.pid for n in cluster.nodes]
        d = cluster.dir
    leftovers = [p for p in pids if os.path.exists(f"/proc/{p}") and
                 open(f"/proc/{p}/stat").read().split()[2] != "Z"]
    if leftovers or os.path.exists(d):
        failed += 1
        print(f"FAIL teardown: live pids {leftovers}, dir exists {os.path.exists(d)}")
    print(f"{passed} passed, {failed} failed", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    _selftest()
