"""The docker deployment, run for real (`make test-docker`; not part of `make test`).

Builds the slotgate image from docker/Dockerfile and a redis image from Debian's redis-server
(test/docker/redis.Dockerfile; the debian:bookworm base is made with debootstrap when missing), brings
up test/docker/docker-compose.yml — six nodes, the shipped cluster-init.sh, slotgate, and the sidecar
example (docker/sidecar/app.sh on slotgate's unix socket) — on the host network with loopback ports
only, and checks: data through slotgate, the image's HEALTHCHECK reaching healthy, /readyz, a
`kill -s HUP` reload, `docker stop` exiting 0 with every command slotgate ran answered to a client
busy at the time, the sidecar serving its app, and the TLS variant (a slotgate serving TLS clients
with certificates made by docker/tls/make-certs.sh in a mounted directory). Also validates the
shipped compose files, TLS variants included, with `docker-compose config`.

Leaves nothing it did not find: its containers, volumes and images go; the debian:bookworm base is
kept only if it was there before (the debootstrap result is cached as a tarball under
~/.cache/slotgate, so a second run takes seconds to re-import it); a docker engine it had to start is
stopped. Figures (image size, time to healthy) are printed and written to build/docker-test.json
when a build directory exists.

    /usr/bin/python3 test/docker/test_docker.py          (as root; docker.io, docker-compose, debootstrap)
    SLOTGATE_DOCKER_KEEP=1 ...                           keep the images (faster reruns)
    SLOTGATE_DOCKER_IMAGE=slotgate:x ...                 use that image instead of building one
"""

import http.client
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HERE = os.path.dirname(os.path.abspath(__file__))
COMPOSE_FILE = os.path.join(HERE, "docker-compose.yml")
HOST = "127.0.0.1"
DOCKER = shutil.which("docker", path="/usr/bin:/bin") or "docker"
COMPOSE = shutil.which("docker-compose") or "docker-compose"
BASE_IMAGE = "debian:bookworm"
TAG = f"{os.getpid()}"
PREBUILT = os.environ.get("SLOTGATE_DOCKER_IMAGE", "")
SLOTGATE_IMAGE = PREBUILT or f"slotgate-test/slotgate:{TAG}"
REDIS_IMAGE = f"slotgate-test/redis:{TAG}"
PROJECT = f"slotgate-test-{TAG}"


def log(msg):
    print(f"[docker-test {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(args, timeout=600, check=True, env=None, quiet=False):
    out = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)
    if check and out.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {out.returncode}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    if not quiet and out.returncode != 0:
        log(f"{' '.join(args[:3])}... exited {out.returncode}: {out.stderr.strip()[-500:]}")
    return out


def wait_until(pred, timeout, what, interval=0.5):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            value = pred()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - keep polling, report the last one
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last error: {last!r})")


# ------------------------------------------------------------------------------------------------
# Ports: loopback, below the ephemeral range, bus port (+10000) free too and below 32768.
# ------------------------------------------------------------------------------------------------

def port_free(port):
    with socket.socket() as s:
        try:
            s.bind((HOST, port))
            return True
        except OSError:
            return False


def free_ports(count):
    ports = []
    candidates = list(range(12000, 22000))
    random.shuffle(candidates)
    for p in candidates:
        if p in ports or p + 10000 in ports:
            continue
        if port_free(p) and port_free(p + 10000):
            ports.append(p)
            if len(ports) == count:
                return ports
    raise RuntimeError("no free loopback ports")


# ------------------------------------------------------------------------------------------------
# The engine and the images
# ------------------------------------------------------------------------------------------------

class Engine:
    """A reachable docker engine: the running one, or one started here (and stopped by stop())."""

    def __init__(self):
        self.proc = None
        self.dir = None

    def start(self):
        if run([DOCKER, "info"], check=False, quiet=True).returncode == 0:
            log("using the running docker engine")
            return
        self.dir = tempfile.mkdtemp(prefix="slotgate-dockerd-")
        log("no docker engine answers: starting dockerd --bridge=none --iptables=false")
        self.logf = open(os.path.join(self.dir, "dockerd.log"), "wb")
        self.proc = subprocess.Popen(
            ["dockerd", "--bridge=none", "--iptables=false", "--pidfile", os.path.join(self.dir, "dockerd.pid")],
            stdout=self.logf, stderr=subprocess.STDOUT)
        wait_until(lambda: run([DOCKER, "info"], check=False, quiet=True).returncode == 0, 60, "dockerd")

    def stop(self):
        if not self.proc:
            return
        log("stopping the docker engine started for the test")
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.logf.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def image_exists(name):
    return run([DOCKER, "image", "inspect", name], check=False, quiet=True).returncode == 0


def image_size(name):
    return int(run([DOCKER, "image", "inspect", name, "--format", "{{.Size}}"]).stdout.strip())


# ------------------------------------------------------------------------------------------------
# The deployment
# ------------------------------------------------------------------------------------------------

class Deployment:
    def __init__(self, workdir):
        self.dir = workdir
        self.nodes = free_ports(6)
        self.port, self.admin_port, self.sidecar_port, self.sidecar_admin = free_ports(4)
        self.tls_port, self.tls_plain_port, self.tls_admin = free_ports(3)
        self.socket_dir = os.path.join(workdir, "run")
        os.makedirs(self.socket_dir)
        os.chown(self.socket_dir, 10001, 10001)  # the image's unprivileged user
        self.env = dict(os.environ, SG_REDIS_IMAGE=REDIS_IMAGE, SG_IMAGE=SLOTGATE_IMAGE, SG_DIR=workdir,
                        COMPOSE_PROJECT_NAME=PROJECT)
        for i, p in enumerate(self.nodes, 1):
            self.env[f"SG_PORT{i}"] = str(p)
        self.seeds = ", ".join(f'"{HOST}:{p}"' for p in self.nodes[:3])
        self.write_config(slowlog_max_len=128)
        with open(os.path.join(workdir, "sidecar.yaml"), "w") as f:
            f.write(f'listen: "{HOST}:{self.sidecar_port}"\nunix_socket: /run/slotgate/slotgate.sock\n'
                    f'unix_socket_perm: "0660"\nseeds: [{self.seeds}]\nthreads: 1\n'
                    f'admin:\n  listen: "{HOST}:{self.sidecar_admin}"\nlog:\n  format: json\n')
        # The TLS variant: certificates made by the shipped script, mounted (not in the image).
        self.certs = os.path.join(workdir, "tls")
        run(["bash", os.path.join(ROOT, "docker", "tls", "make-certs.sh"), self.certs, HOST], quiet=True)
        with open(os.path.join(workdir, "slotgate-tls.yaml"), "w") as f:
            f.write(f'listen: "{HOST}:{self.tls_plain_port}"\nseeds: [{self.seeds}]\nthreads: 1\n'
                    f'tls:\n  listen: "{HOST}:{self.tls_port}"\n  cert_file: /etc/slotgate/tls/slotgate.crt\n'
                    f'  key_file: /etc/slotgate/tls/slotgate.key\n'
                    f'admin:\n  listen: "{HOST}:{self.tls_admin}"\nlog:\n  format: json\n')

    def write_config(self, slowlog_max_len):
        # In place (same inode): the container sees the file through its bind mount.
        with open(os.path.join(self.dir, "slotgate.yaml"), "w") as f:
            f.write(f'listen: "{HOST}:{self.port}"\nseeds: [{self.seeds}]\nthreads: 2\n'
                    f'admin:\n  listen: "{HOST}:{self.admin_port}"\nlog:\n  format: json\n'
                    f'timeouts:\n  shutdown_ms: 10000\nslowlog:\n  max_len: {slowlog_max_len}\n')

    def compose(self, *args, timeout=600, check=True):
        return run([COMPOSE, "-f", COMPOSE_FILE, "-p", PROJECT, *args], timeout=timeout, check=check, env=self.env)

    def container(self, service):
        out = self.compose("ps", "-q", service).stdout.strip()
        assert out, f"no container for {service}"
        return out.splitlines()[0]

    def inspect(self, service, fmt):
        return run([DOCKER, "inspect", self.container(service), "--format", fmt]).stdout.strip()

    def logs(self, service, tail=60):
        return self.compose("logs", "--no-color", "--tail", str(tail), service, check=False).stdout


def admin_get(port, path):
    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def metric(port, name):
    status, body = admin_get(port, "/metrics")
    assert status == 200, (status, body)
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{name} not in /metrics")


def resp_command(*args):
    out = f"*{len(args)}\r\n"
    for a in args:
        a = str(a)
        out += f"${len(a.encode())}\r\n{a}\r\n"
    return out.encode()


class RawClient:
    """A plain RESP client over TCP or a unix socket; replies read one line each (simple types)."""

    def __init__(self, port=None, path=None, timeout=10):
        if path:
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.settimeout(timeout)
            self.sock.connect(path)
        else:
            self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by slotgate")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def call(self, *args):
        self.send(resp_command(*args))
        line = self.line()
        if line.startswith(b"$") and line != b"$-1":
            line = self.line()
        return line

    def close(self):
        self.sock.close()


# ------------------------------------------------------------------------------------------------
# Checks
# ------------------------------------------------------------------------------------------------

def check_compose_files_valid():
    for path in ("docker/docker-compose.yml", "docker/sidecar/docker-compose.yml", "test/docker/docker-compose.yml",
                 "docker/docker-compose.tls.yml", "docker/sidecar/docker-compose.tls.yml"):
        env = dict(os.environ, SG_REDIS_IMAGE="r", SG_IMAGE="s", SG_DIR="/tmp",
                   **{f"SG_PORT{i}": str(7000 + i) for i in range(1, 7)})
        run([COMPOSE, "-f", os.path.join(ROOT, path), "config", "-q"], env=env, timeout=60)
    log("docker-compose config: the shipped and the test compose files are valid")


def check_data(d):
    c = RawClient(d.port)
    try:
        for i in range(200):
            assert c.call("SET", f"docker:key:{i}", i) == b"+OK"
        for i in range(0, 200, 7):
            assert c.call("GET", f"docker:key:{i}") == str(i).encode()
        # The keys are spread over the three primaries (and copied to their replicas).
        counts = []
        for p in d.nodes:
            n = RawClient(p)
            try:
                counts.append(int(n.call("DBSIZE")[1:]))
            finally:
                n.close()
        assert sum(1 for x in counts if x > 0) >= 3, counts
    finally:
        c.close()
    log(f"data through slotgate: 200 keys written and read; keys per node {counts}")


def check_reload(d):
    before = metric(d.admin_port, "slotgate_config_reloads_total")
    d.write_config(slowlog_max_len=77)
    d.compose("kill", "-s", "HUP", "slotgate")
    wait_until(lambda: metric(d.admin_port, "slotgate_config_reloads_total") > before, 20, "the reload")
    c = RawClient(d.port)
    try:
        c.send(resp_command("SLOTGATE", "CONFIG", "GET", "slowlog.max_len"))
        header = c.line()
        values = [c.line() for _ in range(2 * int(header[1:]))]
    finally:
        c.close()
    assert b"77" in values, values
    assert d.inspect("slotgate", "{{.State.Running}}") == "true"
    log("kill -s HUP: the edited file was applied (slowlog.max_len 128 -> 77), slotgate still running")


def check_tls(d):
    """The image serves TLS clients with certificates from a mounted directory."""
    import ssl
    wait_until(lambda: admin_get(d.tls_admin, "/readyz")[0] == 200, 60, "the TLS slotgate's /readyz 200")
    ctx = ssl.create_default_context(cafile=os.path.join(d.certs, "ca.crt"))
    with socket.create_connection((HOST, d.tls_port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=HOST) as s:
            subject = dict(x[0] for x in s.getpeercert()["subject"])
            version = s.version()
            s.sendall(resp_command("SET", "docker:tls", "over-tls"))
            assert s.recv(100) == b"+OK\r\n"
    assert subject["commonName"] == "slotgate", subject
    c = RawClient(d.port)
    try:
        assert c.call("GET", "docker:tls") == b"over-tls"
    finally:
        c.close()
    log(f"TLS: the image served a TLS client ({version}, certificate CN={subject['commonName']} from the "
        f"mounted directory); the value reads back through the plain slotgate")


def check_sidecar(d):
    sock = os.path.join(d.socket_dir, "slotgate.sock")
    wait_until(lambda: os.path.exists(sock), 60, "the sidecar's unix socket")
    mode = os.stat(sock).st_mode & 0o777
    assert mode == 0o660, oct(mode)
    # The app (docker/sidecar/app.sh on the socket) writes app:key:0, 1, ...: read them back from
    # the main slotgate, i.e. from the cluster.
    c = RawClient(d.port)
    try:
        wait_until(lambda: c.call("EXISTS", "app:key:2") == b":1", 60, "the sidecar app's writes")
        assert c.call("GET", "app:key:1") == b"1"
    finally:
        c.close()
    app_log = d.logs("app", 10)
    assert "1" in app_log, app_log
    # The same socket from the host: pipelined, as redis-cli -s would.
    u = RawClient(path=sock)
    try:
        u.send(b"".join(resp_command("INCR", "sidecar:host") for _ in range(50)))
        replies = [u.line() for _ in range(50)]
        assert replies[-1].startswith(b":") and int(replies[-1][1:]) - int(replies[0][1:]) == 49, replies
    finally:
        u.close()
    log(f"sidecar: app.sh served through the unix socket (mode {oct(mode)}); the host reaches it too")


class BusyClient(threading.Thread):
    """Sends batches of INCRs, reads every reply, pauses a little, until the connection ends.
    `acked` counts INCRs answered; a batch answered only in part is a lost reply."""

    BATCH = 50

    def __init__(self, port, key):
        super().__init__(daemon=True)
        self.port, self.key = port, key
        self.acked = 0
        self.batches = 0
        self.partial = None
        self.ended = None

    def run(self):
        c = RawClient(self.port, timeout=30)
        batch = b"".join(resp_command("INCR", self.key) for _ in range(self.BATCH))
        try:
            while True:
                c.send(batch)
                got = 0
                try:
                    for _ in range(self.BATCH):
                        line = c.line()
                        assert line.startswith(b":"), line
                        got += 1
                finally:
                    self.acked += got
                    if 0 < got < self.BATCH:
                        self.partial = got
                self.batches += 1
                # Longer than slotgate's drain checks (two idle sightings 50 ms apart): between
                # batches it may close the client; mid-batch it must answer everything.
                time.sleep(0.15)
        except (ConnectionError, OSError) as e:
            self.ended = repr(e)
        finally:
            c.close()


def check_image_files():
    container = run([DOCKER, "create", SLOTGATE_IMAGE], quiet=True).stdout.strip()
    tar = os.path.join(tempfile.mkdtemp(prefix="slotgate-export-"), "image.tar")
    try:
        run([DOCKER, "export", "-o", tar, container], timeout=120)
        import tarfile
        with tarfile.open(tar) as t:
            files = [m.name for m in t.getmembers() if m.isfile()]
    finally:
        run([DOCKER, "rm", container], check=False, quiet=True)
        shutil.rmtree(os.path.dirname(tar), ignore_errors=True)
    allowed = re.compile(r"(usr/local/bin/(slotgate|bash|slotgate-entrypoint)|(usr/)?lib(64|/x86_64-linux-gnu)/"
                         r"[^/]+\.so[.\d]*|etc/(passwd|group|ld\.so\.conf|ld\.so\.cache|hosts|hostname|resolv\.conf"
                         r"|slotgate/slotgate\.example\.yaml)|\.dockerenv|dev/console)")
    extra = [f for f in files if not allowed.fullmatch(f)]
    assert not extra, f"unexpected files in the runtime image: {extra[:20]}"
    return len(files)


def dangling_images():
    return set(run([DOCKER, "images", "-q", "--filter", "dangling=true"], check=False, quiet=True).stdout.split())


def check_stop(d):
    clients = [BusyClient(d.port, f"docker:stop:{i}") for i in range(4)]
    for t in clients:
        t.start()
    wait_until(lambda: all(t.batches >= 5 for t in clients), 30, "busy clients")
    container = d.container("slotgate")
    started = time.monotonic()
    out = run([DOCKER, "stop", "-t", "25", container], timeout=60)
    took = time.monotonic() - started
    for t in clients:
        t.join(30)
    code = int(run([DOCKER, "inspect", container, "--format", "{{.State.ExitCode}}"]).stdout.strip())
    assert out.returncode == 0 and code == 0, (out, code, d.logs("slotgate"))
    # Every INCR slotgate executed was answered: the counters on the nodes equal the replies seen.
    for t in clients:
        assert t.partial is None, f"a batch was answered only in part ({t.partial}/{t.BATCH})"
        value = None
        # Ask every node; the owner answers, the others say MOVED.
        for p in d.nodes:
            n = RawClient(p)
            try:
                r = n.call("GET", t.key)
            finally:
                n.close()
            if not r.startswith(b"-"):
                value = 0 if r == b"$-1" else int(r)
                break
        assert value == t.acked, (t.key, value, t.acked)
    logs = d.logs("slotgate", 30)
    assert "drained" in logs, logs
    log(f"docker stop: exit code 0 after {took:.1f}s; {sum(t.acked for t in clients)} INCRs from 4 busy "
        f"clients, every one executed was answered")
    return took


def main():
    started = time.monotonic()
    engine = Engine()
    built_base = False
    workdir = tempfile.mkdtemp(prefix="slotgate-docker-test-")
    os.chmod(workdir, 0o755)
    d = None
    figures = {}
    failed = False
    keep = os.environ.get("SLOTGATE_DOCKER_KEEP") == "1"
    dangling_before = set()
    try:
        engine.start()
        dangling_before = dangling_images()
        check_compose_files_valid()
        if not image_exists(BASE_IMAGE):
            t = time.monotonic()
            run(["bash", os.path.join(HERE, "base_image.sh"), BASE_IMAGE], timeout=1800)
            built_base = True
            log(f"made {BASE_IMAGE} from Debian's packages in {time.monotonic() - t:.0f}s")
        t = time.monotonic()
        run([DOCKER, "build", "--network", "host", "-q", "-f", os.path.join(HERE, "redis.Dockerfile"),
             "-t", REDIS_IMAGE, HERE], timeout=1200)
        log(f"built {REDIS_IMAGE} in {time.monotonic() - t:.0f}s")
        revision = run(["git", "-C", ROOT, "rev-parse", "--short=12", "HEAD"], check=False, quiet=True).stdout.strip()
        t = time.monotonic()
        if not PREBUILT:
            run([DOCKER, "build", "--network", "host", "-q", "-f", os.path.join(ROOT, "docker", "Dockerfile"),
                 "--build-arg", f"SLOTGATE_GIT_REVISION={revision or 'unknown'}", "-t", SLOTGATE_IMAGE, ROOT],
                timeout=3600)
        figures["image_build_s"] = round(time.monotonic() - t)
        figures["image_bytes"] = image_size(SLOTGATE_IMAGE)
        log(f"built {SLOTGATE_IMAGE} in {figures['image_build_s']}s: {figures['image_bytes'] / 1e6:.1f} MB")
        version = run([DOCKER, "run", "--rm", "--network", "host", SLOTGATE_IMAGE, "--version"]).stdout.strip()
        assert re.fullmatch(r"slotgate \d+\.\d+\.\d+ \(git [\w.-]+\)", version), version
        figures["image_files"] = check_image_files()
        log(f"{version}; the image holds {figures['image_files']} files: slotgate, bash, their "
            f"libraries, the entrypoint, the example config")

        d = Deployment(workdir)
        t = time.monotonic()
        d.compose("up", "-d", timeout=600)
        health = wait_until(lambda: d.inspect("slotgate", "{{.State.Health.Status}}") == "healthy", 120,
                            "slotgate's HEALTHCHECK to report healthy")
        figures["healthy_s"] = round(time.monotonic() - t, 1)
        log(f"compose up to slotgate healthy (HEALTHCHECK): {figures['healthy_s']}s "
            f"(6 nodes, cluster-init, slotgate)")
        wait_until(lambda: admin_get(d.admin_port, "/readyz")[0] == 200, 60, "/readyz 200")
        log("/readyz: 200")
        check_data(d)
        check_reload(d)
        check_sidecar(d)
        check_tls(d)
        figures["stop_s"] = round(check_stop(d), 1)
    except Exception:  # noqa: BLE001 - report, clean up, fail
        failed = True
        traceback.print_exc()
        if d:
            for service in ("slotgate", "sidecar", "app", "cluster-init", "slotgate-tls"):
                print(f"--- logs of {service}\n{d.logs(service)}", flush=True)
    finally:
        if d:
            d.compose("down", "-v", "--remove-orphans", "-t", "5", check=False, timeout=300)
        if not keep:
            for image in ((SLOTGATE_IMAGE,) if not PREBUILT else ()) + (REDIS_IMAGE,) + \
                    ((BASE_IMAGE,) if built_base else ()):
                run([DOCKER, "rmi", "-f", image], check=False, quiet=True)
            # The build stage's image, left untagged by this run (never one that was there before).
            for image in dangling_images() - dangling_before:
                run([DOCKER, "rmi", "-f", image], check=False, quiet=True)
        engine.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    figures["total_s"] = round(time.monotonic() - started)
    print(json.dumps(figures), flush=True)
    if os.path.isdir(os.path.join(ROOT, "build")):
        with open(os.path.join(ROOT, "build", "docker-test.json"), "w") as f:
            json.dump(figures, f)
    print("FAIL" if failed else "PASS", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
