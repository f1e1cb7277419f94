"""Topology changes under load: operators change the cluster, clients of slotgate notice nothing.

A real cluster (3 masters + 3 replicas, cluster-node-timeout 1000 ms) behind slotgate with the
cluster-bus observer on, and a second slotgate with it off. Plain clients write unique keys and
read them back through slotgate while, in turn:
  1. redis-cli reshards 2,000 slots;
  2. a replica takes over with CLUSTER FAILOVER;
  3. a master is killed with kill -9, its replica is promoted, the old master comes back as a
     replica (the time from the kill to the first successful write to its slots is printed, with
     the observer on and off);
  4. a new master joins with add-node and receives 1,500 slots;
  5. its slots are moved away and it leaves with del-node (a third slotgate, seeded only with that
     node, keeps following the cluster after its only seed is gone).
No phase may show a client error, except kill -9, where only writes that were in flight on the dead
node's connections may fail, each with slotgate's "write outcome unknown" error. At the end every
acknowledged write is read back directly from the cluster. The observer's PINGs must leave CLUSTER
NODES unchanged on every node (no handshake entries, no unknown node).
"""

import os
import random
import sys
import tempfile
import threading
import time

import pytest

from cluster import (Slotgate, _parse_cluster_nodes, key_slot, log, slotgate_binary,
                     tag_for_slot, wait_until)

WRITERS = 4
WRITERS_OFF = 2
NODE_TIMEOUT_MS = 1000
IN_FLIGHT_ERROR = "write outcome unknown"

# `gate` runs with the cluster-bus observer on (the default); `gate_off` below with it off.
pytestmark = pytest.mark.cluster(node_timeout=NODE_TIMEOUT_MS)


@pytest.fixture(scope="module")
def gate_off(cluster):
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write("topology:\n  gossip: false\n")
        off_config = f.name
    try:
        with Slotgate(slotgate_binary(), cluster.seeds(), threads=1, extra_args=["--config", off_config]) as g:
            log(f"slotgate (observer off) on {g.addr}")
            yield g
    finally:
        os.unlink(off_config)


class Load:
    """Writer threads through one slotgate: SET a unique key, GET it back; every error recorded."""

    def __init__(self, gate, name, writers):
        self.gate = gate
        self.name = name
        self.stop = threading.Event()
        self.errors = []        # (time, op, key, message)
        self.acked = {}         # key -> (value, time acknowledged)
        self.lock = threading.Lock()
        self.ops = 0
        self.threads = [threading.Thread(target=self._run, args=(w,), daemon=True) for w in range(writers)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def _run(self, w):
        rnd = random.Random(f"{self.name}-{w}-{time.monotonic()}")
        r = self.gate.client(socket_timeout=30)
        i = 0
        deadline = time.monotonic() + 600
        while not self.stop.is_set() and time.monotonic() < deadline:
            key = f"topo:{self.name}:{w}:{i}:{rnd.randrange(1 << 30)}"
            value = f"v{i}-{rnd.random()}"
            i += 1
            op = "SET"
            try:
                if r.set(key, value) is not True:
                    self._error(op, key, "SET did not return OK")
                    continue
                with self.lock:
                    self.acked[key] = (value, time.monotonic())
                    self.ops += 1
                op = "GET"
                got = r.get(key)
                if got != value.encode():
                    self._error(op, key, f"expected {value!r}, got {got!r}")
            except Exception as e:
                self._error(op, key, str(e))
                if len(self.errors) > 500:
                    return

    def _error(self, op, key, message):
        with self.lock:
            self.errors.append((time.monotonic(), op, key, message))

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in self.threads), f"{self.name}: load threads did not stop"
        return self


def _assert_clean(load, phase):
    log(f"{phase}: {load.name} made {load.ops} writes, {len(load.errors)} errors")
    assert not load.errors, f"{phase}: {load.name} saw errors: {load.errors[:10]}"
    assert load.ops > 50, f"{phase}: {load.name} made only {load.ops} writes"


def _run_phase(gate, name, action, settle=1.0):
    load = Load(gate, name, WRITERS).start()
    time.sleep(1.0)
    try:
        action()
        time.sleep(settle)
    finally:
        load.finish()
    return load


def _views(cluster):
    """{port: {id: flags}} as each live node lists the cluster in CLUSTER NODES."""
    out = {}
    for n in cluster.live():
        entries = _parse_cluster_nodes(cluster.client(n).execute_command("CLUSTER", "NODES"))
        out[n.port] = {e["id"]: e["flags"] for e in entries}
    return out


def _assert_no_strangers(cluster, where):
    members = {n.id for n in cluster.nodes}
    for port, view in _views(cluster).items():
        strangers = set(view) - members
        assert not strangers, f"{where}: node {port} lists unknown nodes {strangers}: {view}"
        shaking = [i for i, flags in view.items() if "handshake" in flags]
        assert not shaking, f"{where}: node {port} has handshake entries {shaking}"


def _gate_topology(gate):
    return gate.client(socket_timeout=5).execute_command("SLOTGATE", "TOPOLOGY").decode()


def _read_back(cluster, acked, tolerated=lambda key, acked_at: False):
    """GETs every acknowledged key from the master that owns its slot now. Returns the lost keys
    that `tolerated` does not excuse, and the number it excused."""
    owners = cluster.slot_owners()
    by_node = {}
    for key, (value, at) in acked.items():
        by_node.setdefault(owners[key_slot(key)], []).append((key, value, at))
    lost, excused = [], 0
    for node, items in by_node.items():
        c = cluster.client(node)
        for i in range(0, len(items), 1000):
            chunk = items[i:i + 1000]
            pipe = c.pipeline(transaction=False)
            for key, _, _ in chunk:
                pipe.get(key)
            for (key, value, at), got in zip(chunk, pipe.execute()):
                if got != value.encode():
                    if tolerated(key, at):
                        excused += 1
                    else:
                        lost.append((key, value, got))
    return lost, excused


# ----------------------------------------------------------------------------------------------

def test_observer_pings_leave_cluster_nodes_unchanged(cluster, gate, gate_off):
    before = _views(cluster)
    # Several PING rounds from the observer (every 500 ms to each of 6 nodes).
    time.sleep(3.0)
    after = _views(cluster)
    for port in before:
        assert set(after[port]) == set(before[port]), f"node {port}: {before[port]} -> {after[port]}"
        assert len(after[port]) == len(cluster.nodes), after[port]
    _assert_no_strangers(cluster, "after observer pings")
    # The observer did talk to every node's bus port, and got PONGs back.
    text = open(gate.logfile).read()
    assert "watching the cluster bus" in text
    for n in cluster.nodes:
        assert f"cluster bus of {n.host}:{n.cport} answers" in text, f"no PONG from {n} in the log"
    assert "watching the cluster bus" not in open(gate_off.logfile).read()


def test_topology_changes_under_load(cluster, gate, gate_off):
    acked = {}
    kill_window = {}  # what the kill -9 phase may excuse

    # 1. Reshard 2,000 slots.
    m = cluster.masters()
    src, dst = m[0], m[1]
    load = _run_phase(gate, "reshard", lambda: cluster.reshard(src, dst, 2000))
    _assert_clean(load, "reshard 2000 slots")
    acked.update(load.acked)

    # 2. Manual failover on a replica.
    m2 = cluster.masters()[2]
    replica = next(n for n in cluster.replicas() if n.master_id == m2.id)
    load = _run_phase(gate, "failover", lambda: cluster.failover(replica))
    _assert_clean(load, "CLUSTER FAILOVER")
    acked.update(load.acked)
    assert replica.role == "master", replica

    # 3. kill -9 of a master; its replica takes over; it comes back.
    # The victim is the reshard's source, not its destination: redis-server 7.0 can leave a slot
    # that moved during the reshard flagged "owner not claiming" on the destination's replica
    # (the flag is only cleared when a PING changes that node's view). Promoted, that replica
    # then hands the slot to its old master when it restarts, the old master turns replica, and
    # the slot is left without an owner (cluster_state:fail on the heir): a server bug, not a
    # topology an operator could reach otherwise.
    victim = src
    assert victim.role == "master" and cluster.slots_of(victim), victim
    victim_slots = set(cluster.slots_of(victim))
    heir = next(n for n in cluster.replicas() if n.master_id == victim.id)
    probe_slot = sorted(victim_slots)[len(victim_slots) // 2]
    load = Load(gate, "kill", WRITERS).start()
    load_off = Load(gate_off, "kill-off", WRITERS_OFF).start()
    first_write = {}
    probe_errors = {"on": [], "off": []}
    killed = threading.Event()

    def probe(g, label):
        r = g.client(socket_timeout=30)
        killed.wait(60)
        n = 0
        while time.monotonic() - kill_time < 60:
            n += 1
            try:
                if r.set(f"{{{tag_for_slot(probe_slot)}}}:probe:{label}:{n}", "x") is True:
                    first_write[label] = time.monotonic() - kill_time
                    return
            except Exception as e:
                probe_errors[label].append(str(e))
                time.sleep(0.01)

    probes = [threading.Thread(target=probe, args=(g, label), daemon=True)
              for g, label in ((gate, "on"), (gate_off, "off"))]
    for t in probes:
        t.start()
    time.sleep(1.5)
    kill_time = time.monotonic()
    cluster.kill(victim)
    killed.set()
    log(f"killed {victim} ({len(victim_slots)} slots); waiting for {heir} to take over")
    wait_until(lambda: "master" in _views_of(cluster, heir), 30, what=f"{heir} promoted")
    cluster.wait_stable(30, check_replicas=False)
    for t in probes:
        t.join(timeout=60)
    time.sleep(1.0)
    cluster.restart(victim)
    # Redis turns the old master into a replica of its heir when it learns it lost its slots; if it
    # comes back as an empty master instead, an operator would run CLUSTER REPLICATE, and so do we.
    try:
        wait_until(lambda: _views_of(cluster, victim) & {"slave", "replica"}, 20, what=f"{victim} to rejoin as a replica")
    except TimeoutError:
        log(f"{victim} came back as {_views_of(cluster, victim)}; CLUSTER REPLICATE {heir.id[:8]}")
        cluster.client(victim).execute_command("CLUSTER", "REPLICATE", heir.id)
    cluster.wait_stable(60)
    time.sleep(1.0)
    load.finish()
    load_off.finish()
    assert victim.role == "replica" and victim.master_id == heir.id, victim
    for label in ("on", "off"):
        took = first_write.get(label)
        print(f"kill -9: first successful write to the lost slots after "
              f"{'%.2f s' % took if took is not None else 'never'} with the observer {label}"
              f" ({len(probe_errors[label])} errors before it)", flush=True)
    assert "on" in first_write, f"no write to the lost slots succeeded with the observer on: {probe_errors['on'][:5]}"
    assert not probe_errors["on"], probe_errors["on"][:5]

    def lost_to_replication(key, at):
        # Redis replicates asynchronously: a write the killed master acknowledged just before it
        # died may never have reached its replica. That is Redis's loss, not slotgate's.
        # (A reply read just before the kill may be time-stamped by its thread just after it.)
        return key_slot(key) in victim_slots and kill_time - 1.0 <= at <= kill_time + 0.5

    in_flight = [e for e in load.errors if IN_FLIGHT_ERROR in e[3] and e[1] == "SET"]
    replication = [e for e in load.errors if e[1] == "GET" and "got None" in e[3]
                   and lost_to_replication(e[2], load.acked.get(e[2], (None, 0))[1])]
    other = [e for e in load.errors if e not in in_flight and e not in replication]
    log(f"kill -9: {load.ops} writes, {len(in_flight)} in-flight writes failed as outcome unknown, "
        f"{len(replication)} lost by Redis's asynchronous replication, {len(other)} other errors")
    log(f"kill -9 with the observer off: {load_off.ops} writes, {len(load_off.errors)} errors: "
        f"{sorted(set(e[3][:60] for e in load_off.errors))[:5]}")
    assert not other, f"kill -9 at {kill_time}: errors other than in-flight writes: " + str(
        [(e, load.acked.get(e[2])) for e in other[:10]])
    # One per writer, or two when a write met the dying node's last accepted connection.
    assert len(in_flight) <= 2 * WRITERS, in_flight
    for e in in_flight:
        assert kill_time <= e[0] <= kill_time + 2.0 and victim.addr in e[3], e
    assert load.ops > 50, load.ops
    kill_window["slots"] = victim_slots
    kill_window["time"] = kill_time
    acked.update(load.acked)
    acked.update(load_off.acked)

    # 4. add-node of a new master, and 1,500 slots to it.
    new = cluster.add_node()
    log(f"added {new}")
    gate_new = Slotgate(slotgate_binary(), new.addr, threads=1)
    gate_new.__enter__()
    try:
        donor = max(cluster.masters(), key=lambda n: len(cluster.slots_of(n)) if n is not new else -1)
        load = _run_phase(gate, "add-node", lambda: cluster.reshard(donor, new, 1500, check_replicas=False))
        _assert_clean(load, "add-node and reshard 1500 slots to it")
        acked.update(load.acked)
        assert len(cluster.slots_of(new)) == 1500

        # 5. Move them away and del-node it.
        heirs = [n for n in cluster.masters() if n is not new]

        def drain_and_delete():
            cluster.reshard(new, heirs[0], 1500, check_replicas=False)
            cluster.del_node(new)

        load = _run_phase(gate, "del-node", drain_and_delete)
        _assert_clean(load, "reshard away and del-node")
        acked.update(load.acked)

        # The gate seeded only with the deleted node keeps following the cluster.
        gate_new.check_alive()
        r = gate_new.client(socket_timeout=10)
        for i in range(50):
            assert r.set(f"seedless:{i}", i) is True
            assert r.get(f"seedless:{i}") == str(i).encode()
        wait_until(lambda: new.addr not in _gate_topology(gate_new), 15, what="deleted node gone from the map")
        a, b = heirs[0], heirs[1]
        moving = cluster.slots_of(a)[:20]
        cluster.reshard(a, b, 20)
        want = {f"{s}" for s in moving}

        def follows():
            for line in _gate_topology(gate_new).splitlines():
                if f" {b.addr} " in line:
                    ranges = line.split("ranges=")[1]
                    covered = set()
                    for part in ranges.split(","):
                        lo, _, hi = part.partition("-")
                        covered.update(str(x) for x in range(int(lo), int(hi or lo) + 1))
                    return want <= covered
            return False
        wait_until(follows, 15, what="the seedless gate to see a reshard after its seed left")
    finally:
        gate_new.__exit__(None, None, None)

    # Every acknowledged write reads back directly from the cluster.
    lost, excused = _read_back(cluster, acked, lambda key, at: key_slot(key) in kill_window["slots"]
                               and kill_window["time"] - 1.0 <= at <= kill_window["time"] + 0.5)
    log(f"read back {len(acked)} acknowledged writes: {len(lost)} lost, "
        f"{excused} lost by Redis's replication at the kill")
    assert not lost, f"lost writes: {lost[:10]}"
    _assert_no_strangers(cluster, "after every phase")


def _views_of(cluster, node):
    for e in _parse_cluster_nodes(cluster.client(node).execute_command("CLUSTER", "NODES")):
        if "myself" in e["flags"]:
            return e["flags"]
    return set()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, *sys.argv[1:]]))
