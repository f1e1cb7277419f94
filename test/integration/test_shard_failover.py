"""A shard-channel subscriber through slotgate keeps receiving SPUBLISHed messages after the
master owning the channel's slot is killed with kill -9 and its replica takes over: slotgate
notices the lost connection, waits for the slot's new owner and subscribes there, without the
client doing anything or seeing a sunsubscribe.
"""

import select
import time

from cluster import log, run_suite
from resp_client import RawConnection


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


if __name__ == "__main__":
    run_suite(globals(), node_timeout=1000)
