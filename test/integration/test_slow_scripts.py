"""Slow scripts through slotgate behave as on one Redis: a script runs on its node's script lane,
so it never holds up the shared connection; SCRIPT KILL and FUNCTION KILL reach the node at once on
a link with nothing in flight and answer as Redis does; a node busy with a script is alive (it
answers -BUSY), so slotgate never resets a connection for it and nobody gets "outcome unknown";
keyless scripts and FUNCTION STATS go to one node (the owner of slot 0); SCRIPT EXISTS says 1 for
a script slotgate can run.

The nodes' (and the reference's) busy-reply-threshold is lowered to 100 ms and slotgate's backend
timeout to 400 ms, so a script that spins for a second is past both.
"""

import re
import sys
import threading
import time

import pytest

from cluster import HOST, RawConnection, RespError, encode_command, slotgate_binary
from reference import norm
from state_helpers import ConfiguredSlotgate, skey

pytestmark = pytest.mark.cluster(replicas_per_master=0, node_timeout=1000)

BUSY_MS = 100
SPIN = "while true do end"
SPIN_LIB = "#!lua name=spinlib\nredis.register_function('spin', function() while true do end end)"
# Runs for `ARGV[1]` ms and ends by itself.
SLEEPER = """local t = redis.call('TIME'); local start = t[1] * 1000 + t[2] / 1000
while true do
  t = redis.call('TIME')
  if t[1] * 1000 + t[2] / 1000 - start >= tonumber(ARGV[1]) then return 'slept' end
end"""


@pytest.fixture(scope="module")
def sg(cluster, reference):
    for m in cluster.masters():
        cluster.client(m).config_set("busy-reply-threshold", BUSY_MS)
    reference.client().config_set("busy-reply-threshold", BUSY_MS)
    config = "timeouts:\n  backend_ms: 400\nbackend:\n  spare_links: 2\n"
    with ConfiguredSlotgate(slotgate_binary(), cluster.seeds(), config, threads=1, log_level="info") as g:
        yield g


def slot0_owner(cluster):
    return cluster.owner_of(skey(0, "x"))


def busy(port):
    with RawConnection(port, host=HOST, timeout=5) as c:
        got = c.call("PING")
    return isinstance(got, RespError) and str(got).startswith("BUSY")


def wait_busy(port, want=True, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if busy(port) == want:
            return
        time.sleep(0.02)
    raise AssertionError(f"node {port} {'never became' if want else 'stayed'} busy")


def start(port, *command):
    """Sends `command` on a new connection in a thread; returns (thread, result dict)."""
    result = {}

    def run():
        with RawConnection(port, timeout=30) as c:
            t0 = time.monotonic()
            result["reply"] = c.call(*command)
            result["took"] = time.monotonic() - t0

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def run_and_kill(port, node_port, run, kill, during=None):
    """Starts `run` (a spinning script) through `port`, waits until `node_port` is busy, calls
    `during(conn)` meanwhile, then `kill`. Returns (run's reply, kill's reply, kill's time)."""
    thread, result = start(port, *run)
    try:
        wait_busy(node_port)
        with RawConnection(port, timeout=10) as c:
            if during:
                during(c)
            t0 = time.monotonic()
            killed = c.call(*kill)
            took = time.monotonic() - t0
    finally:
        thread.join(timeout=10)
    assert not thread.is_alive(), "the script's client never got a reply"
    wait_busy(node_port, want=False)
    return result["reply"], killed, took


def test_script_kill_stops_a_busy_script_while_others_get_busy_or_their_value(cluster, sg, reference):
    owner = slot0_owner(cluster)
    k = skey(cluster.slots_of(owner)[5], "busy:k")
    assert sg.client().set(k, "v") is True
    seen = []

    def gets(c):
        # For a while past the node's busy threshold and slotgate's backend timeout: each GET
        # gets the node's -BUSY or the value, at once, never a lost connection or a timeout.
        end = time.monotonic() + 1.2
        while time.monotonic() < end:
            t0 = time.monotonic()
            got = c.call("GET", k)
            took = time.monotonic() - t0
            assert got == b"v" or (isinstance(got, RespError) and str(got).startswith("BUSY ")), got
            assert took < 0.6, f"a GET waited {took:.2f}s behind the script"
            seen.append(got)
            time.sleep(0.05)

    ran, killed, took = run_and_kill(sg.port, owner.port, ["EVAL", SPIN, 0], ["SCRIPT", "KILL"], gets)
    assert killed == b"OK", killed
    assert took < 1.0, f"SCRIPT KILL took {took:.2f}s"
    assert any(isinstance(g, RespError) for g in seen), "the node was never seen busy"
    ref_ran, ref_killed, _ = run_and_kill(reference.port, reference.port, ["EVAL", SPIN, 0], ["SCRIPT", "KILL"])
    assert norm(ran) == norm(ref_ran), f"slotgate {ran!r}, redis {ref_ran!r}"
    assert norm(killed) == norm(ref_killed)
    assert sg.client().get(k) == b"v"
    # Nothing runs now: NOTBUSY, as from one server.
    with sg.raw() as g, reference.raw() as r:
        for cmd in (["SCRIPT", "KILL"], ["FUNCTION", "KILL"]):
            got, want = norm(g.call(*cmd)), norm(r.call(*cmd))
            assert got == want and want[1].startswith("NOTBUSY"), f"{cmd}: slotgate {got!r}, redis {want!r}"


def test_function_kill_and_stats_during_a_busy_function(cluster, sg, reference):
    owner = slot0_owner(cluster)
    assert sg.client().execute_command("FUNCTION", "LOAD", "REPLACE", SPIN_LIB) == b"spinlib"
    reference.client().execute_command("FUNCTION", "LOAD", "REPLACE", SPIN_LIB)
    stats = {}

    def during(c):
        stats["stats"] = c.call("FUNCTION", "STATS")
        # SCRIPT KILL does not stop a function: Redis says so, and so does slotgate.
        stats["script_kill"] = c.call("SCRIPT", "KILL")

    ran, killed, took = run_and_kill(sg.port, owner.port, ["FCALL", "spin", 0], ["FUNCTION", "KILL"], during)
    ref_stats = {}

    def ref_during(c):
        ref_stats["stats"] = c.call("FUNCTION", "STATS")
        ref_stats["script_kill"] = c.call("SCRIPT", "KILL")

    ref_ran, ref_killed, _ = run_and_kill(reference.port, reference.port, ["FCALL", "spin", 0],
                                          ["FUNCTION", "KILL"], ref_during)
    assert killed == b"OK" and took < 1.0, (killed, took)
    assert norm(ran) == norm(ref_ran), f"slotgate {ran!r}, redis {ref_ran!r}"
    assert norm(stats["script_kill"]) == norm(ref_stats["script_kill"]), (stats, ref_stats)
    # FUNCTION STATS went to the node running the function: running_script names it.
    running = stats["stats"][1]
    assert isinstance(running, list) and running[:2] == [b"name", b"spin"], stats["stats"]
    assert ref_stats["stats"][1][:2] == [b"name", b"spin"]


def test_keyless_scripts_go_to_the_owner_of_slot_0(cluster, sg):
    port = re.compile(rb"tcp_port:(\d+)")
    owner = slot0_owner(cluster)
    ports = set()
    for cmd in (["EVAL", "return redis.call('INFO', 'server')", 0],
                ["EVAL_RO", "return redis.call('INFO', 'server')", 0]):
        for _ in range(4):
            with sg.raw() as c:
                ports.add(int(port.search(c.call(*cmd)).group(1)))
    assert ports == {owner.port}, f"keyless scripts ran on {ports}, not only on {owner.port}"


def test_script_exists_is_what_slotgate_can_run(cluster, sg, reference):
    r = sg.client()
    body = f"return 'exists-{time.time()}'"
    digest = r.execute_command("SCRIPT", "LOAD", body).decode()
    reference.client().execute_command("SCRIPT", "LOAD", body)
    # One node forgets it: slotgate still runs it there (it loads it again), so it exists.
    m = cluster.masters()[1]
    cluster.client(m).execute_command("SCRIPT", "FLUSH")
    unknown = "0" * 40
    got = r.execute_command("SCRIPT", "EXISTS", digest, unknown, digest.upper())
    want = reference.client().execute_command("SCRIPT", "EXISTS", digest, unknown, digest.upper())
    assert got == want == [1, 0, 1], (got, want)
    # A script loaded on one node only, behind slotgate's back, cannot run everywhere.
    direct = cluster.client(m).execute_command("SCRIPT", "LOAD", "return 'direct'").decode()
    assert r.execute_command("SCRIPT", "EXISTS", direct) == [0]


def test_a_long_script_does_not_hold_up_other_clients(cluster, sg, reference):
    """A script that runs 1.5 s and ends by itself: other clients' commands to its node get -BUSY
    at once (as from a standalone Redis), never wait behind it, and the script's own reply comes."""
    owner = slot0_owner(cluster)
    k = skey(cluster.slots_of(owner)[7], "hol:k")
    sg.client().set(k, "v")
    thread, result = start(sg.port, "EVAL", SLEEPER, 0, 1500)
    try:
        wait_busy(owner.port)
        with sg.raw(timeout=10) as c:
            for _ in range(5):
                t0 = time.monotonic()
                got = c.call("GET", k)
                took = time.monotonic() - t0
                assert isinstance(got, RespError) and str(got).startswith("BUSY "), got
                assert took < 0.3, f"a GET took {took:.2f}s"
    finally:
        thread.join(timeout=10)
    assert result["reply"] == b"slept", result
    assert sg.client().get(k) == b"v"


def test_pipelined_scripts_and_commands_keep_their_order(cluster, sg, reference):
    """A client's scripts and plain commands, pipelined and interleaved over two nodes, take effect
    and answer in the order sent (scripts take the script lane, the commands around them must not
    overtake them on the shared link)."""
    incr = "return redis.call('INCR', KEYS[1])"
    a = skey(cluster.slots_of(slot0_owner(cluster))[3], "ord:a")
    b = skey(cluster.slots_of(cluster.masters()[2])[3], "ord:b")
    commands = [["SET", a, 0], ["SET", b, 0]]
    for i in range(30):
        key = a if i % 3 else b
        commands += [["INCR", key], ["EVAL", incr, 1, key], ["GET", key]]
        if i % 5 == 0:
            commands += [["EVAL", "return 'keyless'", 0], ["MGET", a, b]]
    payload = b"".join(encode_command(*c) for c in commands)
    got = []
    want = []
    for port, out in ((sg.port, got), (reference.port, want)):
        with RawConnection(port, timeout=10) as c:
            c.send(payload)
            out.extend(norm(c.read_reply()) for _ in commands)
    assert got == want


def test_spare_connections_are_kept_open(cluster):
    """With backend.spare_links, each primary holds that many more slotgate connections, ready
    before any client needs one; a blocking command takes one and another replaces it."""
    owner = slot0_owner(cluster)

    def clients():
        return cluster.client(owner).info("clients")["connected_clients"]

    counts = {}
    for spares in (0, 3):
        before = clients()
        config = f"backend:\n  spare_links: {spares}\n"
        with ConfiguredSlotgate(slotgate_binary(), cluster.seeds(), config, threads=1, log_level="info") as g:
            time.sleep(0.3)
            counts[spares] = clients() - before
            if spares:
                k = skey(0, "spare:list")
                with g.raw(timeout=10) as c:
                    assert c.call("BLPOP", k, 0.05) is None
                time.sleep(0.3)
                assert clients() - before >= counts[spares], "the spare taken was not replaced"
    # Both protocols' pools keep their spares.
    assert counts[3] - counts[0] >= 6, counts


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, *sys.argv[1:]]))
