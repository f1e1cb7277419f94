"""A shard-channel subscriber through slotgate keeps receiving SPUBLISHed messages after the
master owning the channel's slot is killed with kill -9 and its replica takes over: slotgate
notices the lost connection, waits for the slot's new owner and subscribes there, without the
client doing anything or seeing a sunsubscribe.
"""

import select
import sys
import threading
import time

import pytest

from cluster import RespError, key_slot, log
from resp_client import RawConnection
from state_helpers import key_on

pytestmark = pytest.mark.cluster(node_timeout=1000)


def reply_within(conn, seconds):
    """The next reply if one starts arriving within `seconds`, else None."""
    if conn.pos >= len(conn.buf) and not select.select([conn.sock], [], [], seconds)[0]:
        return None
    return conn.read_reply()


def test_shard_subscriber_survives_kill9_of_the_slot_owner(cluster, gate):
    channel = "sf:{news}"
    owner = cluster.owner_of(channel)
    pub = gate.client(socket_timeout=5)
    with RawConnection(gate.port, timeout=10) as s:
        assert s.call("SSUBSCRIBE", channel) == [b"ssubscribe", channel.encode(), 1]
        assert pub.execute_command("SPUBLISH", channel, "before") == 1
        assert s.read_reply() == [b"smessage", channel.encode(), b"before"]
        log(f"kill -9 {owner} (owns the channel's slot)")
        owner.proc.kill()
        killed = time.monotonic()
        received = None
        attempt = 0
        # Publish until a message arrives: the failover takes a few node timeouts.
        while time.monotonic() - killed < 30 and received is None:
            attempt += 1
            try:
                pub.execute_command("SPUBLISH", channel, f"after{attempt}")
            except Exception as e:  # the slot has no owner for a moment
                log(f"SPUBLISH during failover: {e}")
            received = reply_within(s, 0.3)
        assert received is not None, "no message reached the shard subscriber within 30 s of the kill"
        assert received[0] == b"smessage" and received[1] == channel.encode(), received
        log(f"first message {time.monotonic() - killed:.1f} s after the kill")
        # From now on every message arrives, in order, and nothing else (no sunsubscribe).
        for i in range(5):
            assert pub.execute_command("SPUBLISH", channel, f"steady{i}") == 1
        got = []
        while len(got) < 5:
            reply = reply_within(s, 5)
            assert reply is not None, f"only {got} arrived after the failover"
            if reply[2].startswith(b"after"):
                continue  # late copies of the probes above
            got.append(reply)
        assert got == [[b"smessage", channel.encode(), f"steady{i}".encode()] for i in range(5)], got
        assert s.call("PING") == [b"pong", b""]


def test_blocking_and_exec_wait_for_the_failover(cluster, gate):
    """Sent right after kill -9 of their slot's master, a BLPOP and a MULTI/EXEC wait for the
    replica to take over (within failover_wait, as ordinary commands do) and run there: the
    BLPOP gets the value pushed after the failover, the EXEC its replies; no error reaches either."""
    cluster.wait_stable(30, check_replicas=False)
    live = cluster.live()
    victim = next(m for m in cluster.masters() if m in live
                  and any(r.master_id == m.id and r in live for r in cluster.replicas()))
    k_list = key_on(cluster, victim, "sfb:list")
    k_tx = key_on(cluster, victim, "sfb:tx", index=1)
    results = {}

    def blpop():
        with RawConnection(gate.port, timeout=30) as c:
            t0 = time.monotonic()
            results["blpop"] = (c.call("BLPOP", k_list, 20), time.monotonic() - t0)

    def transaction():
        with RawConnection(gate.port, timeout=30) as c:
            assert c.call("MULTI") == b"OK"
            assert c.call("INCRBY", k_tx, 5) == b"QUEUED"
            assert c.call("INCRBY", k_tx, 2) == b"QUEUED"
            results["exec"] = c.call("EXEC")

    log(f"kill -9 {victim}")
    victim.proc.kill()
    victim.proc.wait(timeout=10)  # gone: nothing can reach it (a command written as it died
    killed = time.monotonic()     # would rightly get "write outcome unknown")
    threads = [threading.Thread(target=blpop), threading.Thread(target=transaction)]
    for t in threads:
        t.start()
    pusher = gate.client(socket_timeout=15)
    pushed = None
    while time.monotonic() - killed < 20 and pushed is None:
        try:
            pushed = pusher.rpush(k_list, "after-failover")
        except Exception as e:  # held past failover_wait, or the slot has no owner for a moment
            log(f"RPUSH during failover: {e}")
            time.sleep(0.2)
    for t in threads:
        t.join(timeout=30)
    log(f"pushed {time.monotonic() - killed:.1f} s after the kill; results {results}")
    assert pushed == 1, pushed
    got, took = results["blpop"]
    assert not isinstance(got, RespError), f"BLPOP sent during the failover: {got}"
    assert got == [k_list.encode(), b"after-failover"], got
    assert results["exec"] == [5, 7], results["exec"]
    slot = key_slot(k_tx)
    owner = next(n for n, slots in cluster._claimed_slots().items() if slot in slots)
    assert owner is not victim and cluster.client(owner).get(k_tx) == b"7", owner


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, *sys.argv[1:]]))
