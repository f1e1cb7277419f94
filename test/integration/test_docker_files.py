"""docker/: what can be checked without a Docker engine. The compose files and configs parse and
reference files that exist, addresses agree between the nodes and slotgate's seeds, the Dockerfile
runs as non-root with a health check, and the entrypoint script runs under bash against a local
cluster (config-file mode, environment mode, healthcheck, SIGTERM)."""

import os
import re
import signal
import subprocess
import sys

import pytest
import redis
import yaml

from cluster import HOST, free_port, slotgate_binary, tail, wait_until

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOCKER = os.path.join(ROOT, "docker")


def _load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def _check_volumes(compose_dir, service):
    for volume in service.get("volumes", []):
        source = volume.split(":")[0]
        if source.endswith("tls/certs"):  # made by docker/tls/make-certs.sh: test_tls_files
            continue
        if source.startswith("."):
            path = os.path.normpath(os.path.join(compose_dir, source))
            assert os.path.exists(path), f"volume source {source} missing ({path})"


def _check_build(compose_dir, service):
    build = service.get("build")
    if build:
        context = os.path.normpath(os.path.join(compose_dir, build["context"]))
        assert os.path.isfile(os.path.join(context, build["dockerfile"])), build


def _check_config(path):
    res = subprocess.run([slotgate_binary(), "--check-config", path], capture_output=True, timeout=10)
    assert res.returncode == 0, res.stderr.decode()


def test_compose_file():
    compose = _load(os.path.join(DOCKER, "docker-compose.yml"))
    services = compose["services"]
    nodes = {name: s for name, s in services.items() if name.startswith("redis-")}
    assert len(nodes) == 6
    announced = []
    for name, s in nodes.items():
        command = s["command"]
        ip = command[command.index("--cluster-announce-ip") + 1]
        assert s["networks"]["cluster"]["ipv4_address"] == ip, name
        assert command[command.index("--cluster-enabled") + 1] == "yes"
        announced.append(f"{ip}:6379")
    subnet = compose["networks"]["cluster"]["ipam"]["config"][0]["subnet"]
    assert all(a.startswith(subnet.rsplit(".", 1)[0] + ".") for a in announced), (subnet, announced)
    for name, s in services.items():
        for dep in s.get("depends_on", {}):
            assert dep in services, (name, dep)
        _check_volumes(DOCKER, s)
        _check_build(DOCKER, s)
    init = services["cluster-init"]
    assert set(init["depends_on"]) == set(nodes)
    gate = services["slotgate"]
    assert "7777:7777" in gate["ports"] and "9121:9121" in gate["ports"]
    assert gate["depends_on"]["cluster-init"]["condition"] == "service_completed_successfully"
    config_path = os.path.join(DOCKER, "slotgate.yaml")
    assert any(v.startswith("./slotgate.yaml:/etc/slotgate/slotgate.yaml") for v in gate["volumes"])
    config = _load(config_path)
    assert sorted(config["seeds"]) == sorted(announced)
    assert config["listen"].endswith(":7777") and config["admin"]["listen"].endswith(":9121")
    _check_config(config_path)
    # The default seeds of cluster-init.sh are the announced addresses too.
    with open(os.path.join(DOCKER, "cluster-init.sh")) as f:
        script = f.read()
    assert sorted(re.findall(r"172\.28\.0\.\d+:6379", script)) == sorted(announced)


def test_sidecar_files():
    sidecar_dir = os.path.join(DOCKER, "sidecar")
    compose = _load(os.path.join(sidecar_dir, "docker-compose.yml"))
    services = compose["services"]
    assert services["app"]["network_mode"] == "service:slotgate"
    for s in services.values():
        _check_volumes(sidecar_dir, s)
        _check_build(sidecar_dir, s)
    main = _load(os.path.join(DOCKER, "docker-compose.yml"))
    # docker compose names the main file's network <project>_<network>, the project being the
    # directory's name.
    assert compose["networks"]["cluster"]["name"] == "docker_cluster" and "cluster" in main["networks"]
    config = _load(os.path.join(sidecar_dir, "slotgate.yaml"))
    assert config["listen"] == "127.0.0.1:6379"
    _check_config(os.path.join(sidecar_dir, "slotgate.yaml"))
    # The unix socket lives in a volume both containers mount.
    socket_dir = os.path.dirname(config["unix_socket"])
    for name in ("slotgate", "app"):
        assert any(v.endswith(":" + socket_dir) for v in services[name]["volumes"]), (name, socket_dir)
    assert services["app"]["environment"]["SLOTGATE_SOCKET"] == config["unix_socket"]


def _make_certs(directory, *args):
    res = subprocess.run(["bash", os.path.join(DOCKER, "tls", "make-certs.sh"), directory, *args],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res
    return res


def _config_with_certs(path, certs_dir, out_path):
    """The config at `path` with its certificate directory (/etc/slotgate/tls) moved to certs_dir."""
    with open(path) as f:
        text = f.read()
    assert "/etc/slotgate/tls/" in text, path
    with open(out_path, "w") as f:
        f.write(text.replace("/etc/slotgate/tls/", certs_dir + "/"))
    return out_path


def test_tls_files(tmp_path):
    """docker-compose.tls.yml and the TLS sidecar: TLS-only nodes announcing the addresses their
    certificate names, slotgate's configs pass --check-config with the files make-certs.sh makes
    (mounted, so absent from the repository and the image), cluster-init.sh gets the TLS options."""
    certs = str(tmp_path / "certs")
    out = _make_certs(certs)
    assert "nothing to do" in _make_certs(certs).stdout  # run again: keeps what exists
    made = set(os.listdir(certs))
    compose = _load(os.path.join(DOCKER, "docker-compose.tls.yml"))
    services = compose["services"]
    nodes = {name: s for name, s in services.items() if name.startswith("redis-")}
    assert len(nodes) == 6
    announced = []
    for name, s in nodes.items():
        c = s["command"]
        opt = lambda k: c[c.index(k) + 1]  # noqa: E731
        assert (opt("--port"), opt("--tls-port"), opt("--tls-cluster"), opt("--tls-replication")) == \
            ("0", "6379", "yes", "yes"), name
        for key in ("--tls-cert-file", "--tls-key-file", "--tls-ca-cert-file"):
            assert os.path.basename(opt(key)) in made, (name, key)
        ip = opt("--cluster-announce-ip")
        assert s["networks"]["cluster"]["ipv4_address"] == ip, name
        announced.append(f"{ip}:6379")
        assert any(v.startswith("./tls/certs:") and v.endswith(":ro") for v in s["volumes"]), name
        # The node certificate names the address the node announces: slotgate checks it.
        res = subprocess.run(["openssl", "verify", "-CAfile", os.path.join(certs, "ca.crt"), "-verify_ip", ip,
                              os.path.join(certs, "node.crt")], capture_output=True, text=True)
        assert res.returncode == 0, (ip, res.stdout, res.stderr)
    for name, s in services.items():
        for dep in s.get("depends_on", {}):
            assert dep in services, (name, dep)
        _check_volumes(DOCKER, s)
        _check_build(DOCKER, s)
    assert "--tls" in services["cluster-init"]["environment"]["REDIS_CLI_OPTS"]
    gate = services["slotgate"]
    assert any(v.startswith("./tls/certs:/etc/slotgate/tls") for v in gate["volumes"]), gate["volumes"]
    config = _load(os.path.join(DOCKER, "slotgate-tls.yaml"))
    assert sorted(config["seeds"]) == sorted(announced)
    assert config["backend"]["tls"]["enabled"] is True
    assert f"{config['tls']['listen'].rsplit(':', 1)[1]}:6380" in gate["ports"]
    _check_config(_config_with_certs(os.path.join(DOCKER, "slotgate-tls.yaml"), certs, str(tmp_path / "g.yaml")))

    sidecar_dir = os.path.join(DOCKER, "sidecar")
    sidecar = _load(os.path.join(sidecar_dir, "docker-compose.tls.yml"))
    assert sidecar["networks"]["cluster"]["name"] == "docker_cluster"
    assert sidecar["services"]["app"]["network_mode"] == "service:slotgate"
    assert any(v.startswith("../tls/certs:/etc/slotgate/tls") for v in sidecar["services"]["slotgate"]["volumes"])
    for s in sidecar["services"].values():
        _check_volumes(sidecar_dir, s)
    side_config = _load(os.path.join(sidecar_dir, "slotgate-tls.yaml"))
    assert side_config["backend"]["tls"]["enabled"] is True and set(side_config["seeds"]) <= set(announced)
    _check_config(_config_with_certs(os.path.join(sidecar_dir, "slotgate-tls.yaml"), certs, str(tmp_path / "s.yaml")))
    # Certificates made in docker/tls/certs stay out of git and out of the image's build context.
    for ignore in (".gitignore", ".dockerignore"):
        with open(os.path.join(ROOT, ignore)) as f:
            assert "docker/tls/certs" in f.read(), ignore
    log_line = out.stdout.strip().splitlines()[-1]
    assert "ca.crt" in log_line and "slotgate-client.key" in log_line, log_line


def test_dockerfile():
    with open(os.path.join(DOCKER, "Dockerfile")) as f:
        text = f.read()
    assert re.search(r"^FROM debian:bookworm AS build$", text, re.M)
    # The runtime image is only what docker/rootfs.sh assembles: binary, bash, their libraries.
    assert re.search(r"^FROM scratch$", text, re.M)
    assert re.search(r"^COPY --from=build /rootfs /$", text, re.M)
    users = re.findall(r"^USER (\S+)$", text, re.M)
    assert users and users[-1] not in ("root", "0"), users
    assert re.search(r"^EXPOSE 7777 9121$", text, re.M)
    assert "HEALTHCHECK" in text and "healthcheck" in text
    for source in re.findall(r"^COPY (?!--from)(\S+) ", text, re.M):
        if source != ".":
            assert os.path.exists(os.path.join(ROOT, source)), source
    # The build stage installs what install_deps.sh installs for building.
    with open(os.path.join(ROOT, "scripts", "install_deps.sh")) as f:
        deps = f.read()
    for pkg in ("libuv1-dev", "libyaml-cpp-dev", "libspdlog-dev", "libcli11-dev", "libssl-dev"):
        assert pkg in text and pkg in deps, pkg
    for script in ("entrypoint.sh", "cluster-init.sh", "rootfs.sh", os.path.join("sidecar", "app.sh"),
                   os.path.join("tls", "make-certs.sh")):
        res = subprocess.run(["bash", "-n", os.path.join(DOCKER, script)], capture_output=True)
        assert res.returncode == 0, (script, res.stderr)


def _entrypoint(env, args=(), logfile=None):
    full_env = dict(os.environ, SLOTGATE_BIN=slotgate_binary(), **env)
    cmd = ["bash", os.path.join(DOCKER, "entrypoint.sh"), *args]
    if logfile:
        out = open(logfile, "ab")
        try:
            return subprocess.Popen(cmd, env=full_env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
        finally:
            out.close()
    return subprocess.run(cmd, env=full_env, capture_output=True, timeout=20)


def _serve_and_stop(cluster, env, port, admin_port, logfile):
    proc = _entrypoint(env, logfile=logfile)
    try:
        def ready():
            assert proc.poll() is None, tail(logfile)
            c = redis.Redis(host=HOST, port=port, socket_timeout=2)
            c.set("docker:entry", "1")
            return c.get("docker:entry") == b"1"
        wait_until(ready, 20, what="slotgate started by the entrypoint")
        health = _entrypoint(env, ["healthcheck"])
        assert health.returncode == 0, health
        assert cluster.client(cluster.owner_of("docker:entry")).get("docker:entry") == b"1"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0, tail(logfile)
        # Nothing answers now: the health check fails.
        assert _entrypoint(env, ["healthcheck"]).returncode != 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_entrypoint_with_config_file(cluster):
    port, admin_port = free_port(), free_port()
    path = os.path.join(cluster.dir, "entry.yaml")
    with open(path, "w") as f:
        f.write(f'listen: "127.0.0.1:{port}"\nseeds: ["{cluster.nodes[0].addr}"]\nthreads: 1\n'
                f'admin:\n  listen: "127.0.0.1:{admin_port}"\nlog:\n  format: json\n')
    env = {"SLOTGATE_CONFIG": path}
    check = _entrypoint(env, ["check"])
    assert check.returncode == 0 and b"valid" in check.stdout, check
    logfile = os.path.join(cluster.dir, "entry-file.log")
    _serve_and_stop(cluster, env, port, admin_port, logfile)
    with open(logfile) as f:
        first = f.readline()
    assert first.startswith("{") and '"logger":"proxy"' in first, first


def test_entrypoint_with_environment(cluster):
    port, admin_port = free_port(), free_port()
    env = {"SLOTGATE_CONFIG": os.path.join(cluster.dir, "absent.yaml"),
           "SLOTGATE_SEEDS": cluster.seeds(), "SLOTGATE_LISTEN": f"127.0.0.1:{port}",
           "SLOTGATE_ADMIN_LISTEN": f"127.0.0.1:{admin_port}", "SLOTGATE_THREADS": "1"}
    _serve_and_stop(cluster, env, port, admin_port, os.path.join(cluster.dir, "entry-env.log"))


def test_cluster_init_script_is_idempotent(cluster):
    res = subprocess.run(["bash", os.path.join(DOCKER, "cluster-init.sh")] + [n.addr for n in cluster.nodes],
                         capture_output=True, timeout=30)
    assert res.returncode == 0 and b"already exists" in res.stdout, res


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, *sys.argv[1:]]))
