"""Mutual TLS on both sides, and the cluster changing under TLS load.

The nodes serve TLS only (`port 0`) and ask every client for a certificate (`tls-auth-clients
yes`); the bus and replication are TLS. slotgate presents its client certificate to them and
asks its own clients for one (tls.verify_clients). Then, with clients busy on slotgate's TLS port:
a reshard (MOVED and ASK over TLS links) and a kill -9 of a primary (reconnecting to the promoted
replica over TLS): no client sees an error it should not, and no acknowledged write is lost.
"""

import json
import random
import ssl
import subprocess
import sys
import threading
import time

import pytest
import redis

from cluster import RawConnection, key_slot, log, tag_for_slot, wait_until
from tls_checks import assert_nodes_refused

pytestmark = [pytest.mark.cluster(tls="mutual", node_timeout=1000),
              pytest.mark.slotgate(client_tls="mutual", admin=True, log_level="info")]


def test_mutual_tls_on_both_sides(cluster, gate):
    certs = cluster.certs
    # The nodes insist on a certificate: slotgate gets through only because it presents one.
    bare = redis.Redis(host=cluster.nodes[0].host, port=cluster.nodes[0].port, ssl=True, ssl_ca_certs=certs.ca,
                       socket_timeout=5)
    with pytest.raises((redis.ConnectionError, ssl.SSLError, OSError)):
        bare.ping()
    r = gate.client(tls=True, socket_timeout=10)
    keys = [f"mtls:{i}" for i in range(50)]
    assert r.mset({k: k for k in keys}) is True
    assert r.mget(keys) == [k.encode() for k in keys]
    assert cluster.client(cluster.owner_of(keys[7])).get(keys[7]) == keys[7].encode()
    out = subprocess.run(["redis-cli", *gate.cli_args(tls=True), "GET", keys[3]], capture_output=True, text=True,
                         timeout=20)
    assert out.stdout.strip() == keys[3], out
    # slotgate insists on a certificate from its clients, from the right CA.
    for cert in (None, certs.rogue_app):
        ctx = ssl.create_default_context(cafile=certs.ca)
        if cert:
            ctx.load_cert_chain(cert.crt, cert.key)
        t0 = time.monotonic()
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
            # TLS 1.3: the server's verdict on the client's certificate arrives after the
            # client's side of the handshake, so it shows at the first read.
            RawConnection(gate.tls_port, timeout=5, ssl_context=ctx).call("PING")
        assert time.monotonic() - t0 < 5, "refusing a client took too long"
    assert r.ping() is True


def test_gossip_over_the_tls_bus(gate):
    """With a client certificate the nodes trust, slotgate watches the TLS bus: gossip is on."""
    status, body = gate.admin_get("/topology")
    gossip = json.loads(body).get("gossip", "")
    assert status == 200 and "off" not in gossip.lower(), body[:400]
    text = open(gate.logfile, errors="replace").read()
    assert "watching the cluster bus" in text, text[-2000:]
    refused = [line for line in text.splitlines() if "cluster bus" in line and " W [" in line]
    assert not refused, refused[:3]


def test_expired_client_certificate_refused_by_the_nodes(cluster):
    certs = cluster.certs
    assert_nodes_refused(cluster, dict(cert_file=certs.expired.crt, key_file=certs.expired.key),
                         ("expired", "certificate", "alert"))


# ----------------------------------------------------------------------------------------------
# Under load: writers on slotgate's TLS port
# ----------------------------------------------------------------------------------------------

class Writers:
    """Threads that SET then GET their own keys through slotgate's TLS port, in `slots` mostly.
    With `durable`, each SET is followed by WAIT 1: a write sent before `killed` is set counts as
    acknowledged only once a replica has it too (a kill -9 may lose what only the dead primary
    had: Redis's rule, not slotgate's). Every error is recorded with the time it happened."""

    def __init__(self, gate, slots, tag, n=3, durable=False, max_seconds=60):
        self.gate, self.slots, self.tag, self.durable = gate, list(slots), tag, durable
        self.stop = threading.Event()
        self.killed = False
        self.errors = []  # (time, op, key, text)
        self.acked = {}
        self.ops = 0
        self.deadline = time.monotonic() + max_seconds
        self.threads = [threading.Thread(target=self._run, args=(w,), daemon=True) for w in range(n)]
        self.lock = threading.Lock()
        for t in self.threads:
            t.start()

    def _run(self, w):
        rnd = random.Random(w)
        r = self.gate.client(tls=True, socket_timeout=30)
        i = 0
        while not self.stop.is_set() and time.monotonic() < self.deadline:
            slot = rnd.choice(self.slots) if rnd.random() < 0.7 else rnd.randrange(16384)
            key = f"{{{tag_for_slot(slot)}}}:{self.tag}:w{w}:{i}"
            value = f"{self.tag}-{w}-{i}"
            op = "SET"
            sent_after_kill = self.killed
            try:
                assert r.set(key, value) is True
                replicas = 1
                if self.durable and not sent_after_kill:
                    op = "WAIT"
                    replicas = r.execute_command("WAIT", 1, 200)
                if replicas >= 1:
                    with self.lock:
                        self.acked[key] = value
                op = "GET"
                got = r.get(key)
                if got != value.encode():
                    self.errors.append((time.monotonic(), op, key, f"expected {value!r}, got {got!r}"))
            except Exception as e:  # noqa: BLE001 - every error is a finding
                self.errors.append((time.monotonic(), op, key, repr(e)))
                if len(self.errors) > 100:
                    return
            i += 1
            with self.lock:
                self.ops += 1

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=40)
        assert not any(t.is_alive() for t in self.threads), "writer threads did not stop"


def _read_back(cluster, gate, acked):
    """Every acknowledged write reads back through slotgate (TLS port) and on its slot's owner."""
    r = gate.client(tls=True, socket_timeout=30)
    items = list(acked.items())
    pipe = r.pipeline(transaction=False)
    for k, _ in items:
        pipe.get(k)
    wrong = [(k, v, got) for (k, v), got in zip(items, pipe.execute()) if got != v.encode()]
    assert not wrong, f"{len(wrong)} of {len(items)} acknowledged writes read back wrong: {wrong[:5]}"
    owners = cluster.slot_owners()
    sample = items[::max(1, len(items) // 200)]
    for k, v in sample:
        assert cluster.client(owners[key_slot(k)]).get(k) == v.encode(), k


def test_reshard_under_tls_load(cluster, gate):
    src, dst = cluster.masters()[0], cluster.masters()[1]
    moving = cluster.slots_of(src)[:300]  # redis-cli takes a source's slots in ascending order
    r = gate.client(tls=True)
    pipe = r.pipeline(transaction=False)
    prefilled = {}
    for s in moving:
        for j in range(20 if s % 30 == 0 else 2):  # a few heavier slots: longer ASK windows
            k = f"{{{tag_for_slot(s)}}}:pre:{j}"
            prefilled[k] = k
            pipe.set(k, k)
    pipe.execute()
    asking = sum(cluster.client(m).info("commandstats").get("cmdstat_asking", {}).get("calls", 0)
                 for m in cluster.masters())
    load = Writers(gate, moving, "rs")
    try:
        time.sleep(0.5)
        before = load.ops
        t0 = time.monotonic()
        cluster.reshard(src, dst, len(moving))
        took = time.monotonic() - t0
        during = load.ops - before
        time.sleep(0.5)
    finally:
        load.finish()
    asked = sum(cluster.client(m).info("commandstats").get("cmdstat_asking", {}).get("calls", 0)
                for m in cluster.masters()) - asking
    log(f"reshard of {len(moving)} slots over TLS took {took:.1f}s; {load.ops} writer iterations "
        f"({during} during it), {asked} ASKING sent")
    assert not load.errors, f"{len(load.errors)} errors, first: {load.errors[:5]}"
    assert during > 50, f"only {during} operations overlapped the reshard"
    assert set(moving) <= set(cluster.slots_of(dst))
    _read_back(cluster, gate, {**prefilled, **load.acked})


def test_kill9_failover_under_tls_load(cluster, gate):
    """kill -9 of a primary while writers are busy: commands sent after it died wait for the
    replica's promotion and succeed there (over a new TLS link); the only errors allowed are
    "write outcome unknown" for a write in flight at the moment of the kill."""
    cluster.wait_stable(30)
    victim = next(m for m in cluster.masters()
                  if any(r.master_id == m.id for r in cluster.replicas()))
    replica = next(r for r in cluster.replicas() if r.master_id == victim.id)
    load = Writers(gate, cluster.slots_of(victim), "fo", durable=True, max_seconds=90)
    try:
        wait_until(lambda: len(load.acked) > 100, 20, what="acknowledged writes before the kill")
        log(f"kill -9 {victim} (replica {replica})")
        killed_at = time.monotonic()
        cluster.kill(victim)
        load.killed = True
        dead_at = time.monotonic()
        acked_at_kill = len(load.acked)
        # The replica takes over; writes to the victim's old slots go through again.
        try:
            wait_until(lambda: len(load.acked) > acked_at_kill + 300, 40,
                       what="writes acknowledged after the failover")
        except TimeoutError as e:
            raise AssertionError(f"{e}; {load.ops} operations, errors: {load.errors[:5]}") from None
        after = time.monotonic() - killed_at
    finally:
        load.finish()
    log(f"{len(load.acked)} durable writes, {after:.1f}s from the kill to 300 more; errors: {load.errors[:5]}")
    unexpected = [e for e in load.errors
                  if not ("outcome unknown" in e[3] and e[0] >= killed_at and e[1] in ("SET", "WAIT"))]
    assert not unexpected, f"unexpected errors: {unexpected[:5]}"
    assert len(load.errors) <= len(load.threads), load.errors
    unknown_after = [e for e in load.errors if e[0] > dead_at + 15]
    assert not unknown_after, unknown_after
    owners = cluster.slot_owners()
    assert owners[cluster.slots_of(replica)[0]] is replica, "the replica was not promoted"
    _read_back(cluster, gate, load.acked)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, *sys.argv[1:]]))
