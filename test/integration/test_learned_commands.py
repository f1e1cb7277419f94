"""Commands the generated table does not know are learned from the nodes' COMMAND reply.

The cluster's nodes load Debian's RediSearch module (redis-redisearch), whose FT.* commands are in
no Redis command table: slotgate must learn their key positions at start and route each command
by its index name's slot, where a node owns the index.
"""

import os
import sys

import pytest

from cluster import key_slot

MODULE = "/usr/lib/redis/modules/redisearch.so"

pytestmark = pytest.mark.cluster(extra_config={"loadmodule": MODULE})


@pytest.fixture(scope="module", autouse=True)
def module_installed():
    if not os.path.exists(MODULE):
        # Not a skip: the test needs the module, which scripts/install_deps.sh installs.
        pytest.fail(f"{MODULE} is missing (apt-get install redis-redisearch)")


def index_names(count=30):
    return [f"idx:{i}" for i in range(count)]


def test_module_commands_route_by_their_keys(cluster, gate):
    r = gate.client()
    names = index_names()
    assert len({key_slot(n) for n in names}) > 20, "index names should spread over many slots"
    for n in names:
        assert r.execute_command("FT.CREATE", n, "SCHEMA", "title", "TEXT") in (b"OK", "OK")
        assert r.execute_command("FT.ADD", n, f"doc:{n}", "1.0", "FIELDS", "title", f"hello {n}") in (b"OK", "OK")
    for n in names:
        found = r.execute_command("FT.SEARCH", n, "hello")
        assert found[0] == 1, (n, found)
        # The index lives on the node that owns its name's slot, and only there.
        owner = cluster.owner_of(n)
        info = cluster.client(owner).execute_command("FT.INFO", n)
        assert info, (n, owner)


def test_unknown_everywhere_gets_redis_text(cluster, gate):
    r = gate.client()
    node = cluster.client(cluster.masters()[0])
    for args in (["NOSUCHCMD", "a", "b"], ["FT.NOSUCH", "x"]):
        expected = got = None
        try:
            node.execute_command(*args)
        except Exception as e:  # the node's own error text
            expected = str(e)
        try:
            r.execute_command(*args)
        except Exception as e:
            got = str(e)
        assert expected and got == expected, (args, expected, got)


def test_learned_commands_are_in_the_log(cluster, gate):
    text = open(gate.logfile).read()
    assert "learned" in text and "ft.create" in text and "ft.search" in text, text[-2000:]


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, *sys.argv[1:]]))
