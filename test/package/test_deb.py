"""The .deb, on this machine (`make test-package`, as root; not part of `make test`).

Installs build-release/slotgate_*.deb with `apt-get install ./...`, checks what it put where, runs
`slotgate --version` and `--check-config` on the installed /etc/slotgate/slotgate.yaml, serves a
local 3+3 cluster with `slotgate --config /etc/slotgate/slotgate.yaml` (no systemd here: the unit's
ExecStart line, with loopback ports and seeds given on the command line), and removes the package
again (purge, unless the package was installed before the test).

    /usr/bin/python3 test/package/test_deb.py [path/to/slotgate_X_amd64.deb]
"""

import glob
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "test", "support"))

import redis  # noqa: E402

from cluster import HOST, RedisCluster, free_port, spawn, stop_process, tail, wait_until  # noqa: E402

CONFIG = "/etc/slotgate/slotgate.yaml"


def sh(*args, check=True, timeout=300):
    out = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                         env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    if check and out.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {out.returncode}:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return out


def log(msg):
    print(f"[deb-test] {msg}", flush=True)


def main():
    debs = sys.argv[1:] or sorted(glob.glob(os.path.join(ROOT, "build-release", "slotgate_*.deb")))
    assert debs, "no build-release/slotgate_*.deb: run make package first"
    deb = os.path.abspath(debs[-1])
    if sh("dpkg-query", "-W", "-f=${Status}", "slotgate", check=False).stdout.startswith("install ok"):
        raise SystemExit("slotgate is installed on this machine already; not touching it")
    if os.path.exists(CONFIG):
        raise SystemExit(f"{CONFIG} exists already; not touching it")
    info = sh("dpkg-deb", "--info", deb).stdout
    depends = re.search(r"^ Depends: (.*)$", info, re.M).group(1)
    log(f"{os.path.basename(deb)} ({os.path.getsize(deb) / 1e6:.1f} MB); Depends: {depends}")
    for lib in ("libuv1", "libyaml-cpp0.7", "libspdlog1.10", "libfmt9", "libstdc++6", "libc6"):
        assert lib in depends, (lib, depends)
    failed = False
    try:
        sh("apt-get", "install", "-y", "-qq", deb, timeout=600)
        files = sh("dpkg", "-L", "slotgate").stdout.split()
        for path in ("/usr/bin/slotgate", CONFIG, "/usr/lib/systemd/system/slotgate.service"):
            assert path in files or path.replace("/usr/lib/", "/lib/") in files, (path, files)
        conffiles = sh("dpkg-query", "-W", "-f=${Conffiles}", "slotgate").stdout
        assert CONFIG in conffiles, conffiles
        unit = open(next(f for f in files if f.endswith("slotgate.service"))).read()
        assert "ExecStart=/usr/bin/slotgate --config /etc/slotgate/slotgate.yaml" in unit, unit
        assert "ExecReload=/bin/kill -HUP $MAINPID" in unit and "DynamicUser=yes" in unit, unit

        version = sh("slotgate", "--version").stdout.strip()
        assert re.fullmatch(r"slotgate \d+\.\d+\.\d+ \(git [\w.-]+\)", version), version
        check = sh("slotgate", "--check-config", CONFIG)
        log(f"installed: {version}; {check.stdout.strip()}")

        with RedisCluster() as cluster:
            port, admin = free_port(), free_port()
            workdir = tempfile.mkdtemp(prefix="slotgate-deb-")
            logfile = os.path.join(workdir, "slotgate.log")
            # The unit's command line, with this test's loopback ports and cluster.
            proc = spawn(["/usr/bin/slotgate", "--config", CONFIG, "--seeds", cluster.seeds(),
                          "--listen", f"{HOST}:{port}", "--admin-listen", f"{HOST}:{admin}"], logfile)
            try:
                r = redis.Redis(host=HOST, port=port, socket_timeout=5)
                wait_until(lambda: r.set("deb:probe", "1"), 20, what="the installed slotgate serving")
                for i in range(100):
                    r.set(f"deb:key:{i}", i)
                assert r.mget([f"deb:key:{i}" for i in range(100)]) == [str(i).encode() for i in range(100)]
                proc.send_signal(signal.SIGHUP)  # what ExecReload sends
                time.sleep(0.5)
                assert r.get("deb:key:7") == b"7"
                r.close()
            finally:
                code, killed = stop_process(proc, grace=15)
            assert code == 0 and not killed, tail(logfile, 30)
            log(f"slotgate --config {CONFIG} served 100 keys through a 3+3 cluster, reloaded on HUP, "
                f"exited 0 on SIGTERM")
    except Exception:
        failed = True
        raise
    finally:
        sh("apt-get", "purge", "-y", "-qq", "slotgate", check=False, timeout=300)
        gone = not os.path.exists("/usr/bin/slotgate") and not os.path.exists(CONFIG)
        log("package purged" + ("" if gone else " (but files remain!)"))
        if not gone and not failed:
            raise AssertionError("files remain after purge")
    print("PASS", flush=True)


if __name__ == "__main__":
    main()
