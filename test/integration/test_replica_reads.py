"""read_from: read-only commands go to replicas (READONLY sent on those connections), writes
always to the masters; the replicas' own INFO commandstats show the traffic. prefer-replica falls
back to the master when a replica is down; the policy changes live."""

import os
import sys
import threading
import time

import pytest

from cluster import HOST, RawConnection, RespError, Slotgate, key_slot, log, slotgate_binary, wait_until

N = 300


def _cmdstats(cluster, node):
    info = cluster.client(node).info("commandstats")
    return {k[len("cmdstat_"):]: v["calls"] for k, v in info.items()}


def _reset_stats(cluster):
    for n in cluster.nodes:
        if n.proc.poll() is None:
            cluster.client(n).config_resetstat()


def _gate(cluster, policy, **kwargs):
    path = os.path.join(cluster.dir, f"replica-{policy}.yaml")
    with open(path, "w") as f:
        f.write(f"read_from: {policy}\n")
    return Slotgate(slotgate_binary(), cluster.seeds(), extra_args=["-c", path], **kwargs)


def _sum(cluster, nodes, command):
    return sum(_cmdstats(cluster, n).get(command, 0) for n in nodes)


def test_replica_policy_reads_from_replicas(cluster):
    with _gate(cluster, "replica") as gate:
        r = gate.client()
        keys = [f"rr:{i}" for i in range(N)]
        for k in keys:
            assert r.set(k, k)
        # Replication is asynchronous: wait until every replica has every key.
        wait_until(lambda: all(r.get(k) == k.encode() for k in keys), 20, what="replicas to catch up")
        _reset_stats(cluster)
        for k in keys:
            assert r.get(k) == k.encode()
        assert r.mget(keys[:50]) == [k.encode() for k in keys[:50]]
        for k in keys[:100]:
            assert r.set(k, "new")
        masters, replicas = cluster.masters(), cluster.replicas()
        replica_gets = _sum(cluster, replicas, "get")
        replica_mgets = _sum(cluster, replicas, "mget")
        master_gets = _sum(cluster, masters, "get") + _sum(cluster, masters, "mget")
        master_sets = _sum(cluster, masters, "set")
        log(f"replicas: {replica_gets} GET, {replica_mgets} MGET parts; masters: {master_gets} reads, "
            f"{master_sets} SET")
        assert replica_gets == N, replica_gets
        assert replica_mgets >= 1
        assert master_gets == 0, master_gets
        assert master_sets == 100, master_sets
        # Every replica served some (the keys spread over all three shards).
        for n in replicas:
            assert _cmdstats(cluster, n).get("get", 0) > 0, n
        # The write went to the master and reads see it once replicated.
        wait_until(lambda: r.get(keys[0]) == b"new", 10, what="write to replicate")

        # Live switch back to the masters.
        assert r.execute_command("SLOTGATE", "CONFIG", "SET", "read_from", "master") in (b"OK", "OK")
        time.sleep(0.2)  # each worker applies the new snapshot on its own loop, a moment later
        _reset_stats(cluster)
        for k in keys[100:]:
            assert r.get(k) == k.encode()
        assert _sum(cluster, replicas, "get") == 0
        assert _sum(cluster, masters, "get") == N - 100


def test_script_kill_reaches_a_replica_running_a_read_only_script(cluster):
    """With read_from: replica a keyless EVAL_RO runs on a replica (of slot 0's owner); SCRIPT KILL
    through slotgate reaches the replicas too and stops it, as on one server."""
    owner = cluster.slot_owners()[0]
    replica = next(n for n in cluster.replicas() if n.master_id == owner.id)
    cluster.client(replica).config_set("busy-reply-threshold", 100)

    def busy():
        with RawConnection(replica.port, host=HOST, timeout=5) as c:
            got = c.call("PING")
        return isinstance(got, RespError) and str(got).startswith("BUSY")

    try:
        with _gate(cluster, "replica", threads=1) as gate:
            result = {}

            def run():
                with RawConnection(gate.port, timeout=30) as c:
                    result["reply"] = c.call("EVAL_RO", "while true do end", 0)

            thread = threading.Thread(target=run)
            thread.start()
            try:
                wait_until(busy, 5, interval=0.02, what=f"{replica} busy with the script")
                with gate.raw(timeout=10) as c:
                    killed = c.call("SCRIPT", "KILL")
            finally:
                thread.join(timeout=10)
            assert killed == b"OK", killed
            assert "Script killed by user" in str(result.get("reply")), result
            assert not busy()
    finally:
        cluster.client(replica).config_set("busy-reply-threshold", 5000)


def test_prefer_replica_falls_back_to_master(cluster):
    """Last: stops a replica."""
    with _gate(cluster, "prefer-replica") as gate:
        r = gate.client()
        victim = cluster.replicas()[0]
        master = cluster.node_by_id(victim.master_id)
        owners = cluster.slot_owners()
        keys = [f"pr:{i}" for i in range(2000) if owners[key_slot(f"pr:{i}")] is master][:100]
        for k in keys:
            r.set(k, k)
        wait_until(lambda: all(r.get(k) == k.encode() for k in keys), 20, what="replica to catch up")
        _reset_stats(cluster)
        for k in keys:
            assert r.get(k) == k.encode()
        assert _cmdstats(cluster, victim).get("get", 0) == len(keys)
        assert _cmdstats(cluster, master).get("get", 0) == 0
        log(f"stopping replica {victim}")
        victim.proc.kill()
        victim.proc.wait(timeout=10)
        _reset_stats(cluster)
        # Every read still succeeds: a read in flight on the lost connection is retried, and
        # once the replica refuses connections the master serves.
        for k in keys:
            assert r.get(k) == k.encode()
        assert _cmdstats(cluster, master).get("get", 0) >= len(keys) // 2


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, *sys.argv[1:]]))
