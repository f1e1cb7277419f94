"""Throw-away certificates for the TLS tests, made with the `openssl` command at test time.

    certs = Certs(directory)         # makes everything below at once (about a second)
    certs.ca                         # the trusted CA's certificate file
    certs.node                       # Pair(crt, key): what every redis-server presents (server and client use)
    certs.proxy                      # slotgate's own server certificate for its TLS listener
    certs.gate_client                # slotgate's client certificate for nodes with tls-auth-clients yes
    certs.app                        # an application's client certificate (mutual TLS to slotgate)
    certs.rogue_ca, certs.rogue_app  # a second CA nobody trusts, and a client certificate it signed
    certs.expired                    # signed by the trusted CA, valid only in 2020
    certs.wrong_name                 # signed by the trusted CA for wrong.example / 10.9.9.9 only
    certs.issue(name, ...)           # one more, e.g. a rotated server certificate with a new serial

Every certificate has an explicit serial number (Pair.serial, as an int) so a test can tell which
one a peer presented. Keys are EC P-256: quick to make, and what a modern deployment would use.
"""

import os
import subprocess

SAN_LOCAL = "IP:127.0.0.1,DNS:localhost"
_next_serial = [0x5107_0000]


def _openssl(*args, cwd=None):
    res = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=30, cwd=cwd)
    if res.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: {res.stderr.strip()}")
    return res.stdout


class Pair:
    def __init__(self, crt, key, serial):
        self.crt = crt
        self.key = key
        self.serial = serial

    def __repr__(self):
        return f"Pair({os.path.basename(self.crt)}, serial={self.serial:#x})"


def serial_of_pem(pem_text):
    """The serial number (int) of a PEM certificate given as text."""
    out = subprocess.run(["openssl", "x509", "-noout", "-serial"], input=pem_text, capture_output=True,
                         text=True, timeout=10).stdout
    return int(out.strip().split("=", 1)[1], 16)


def serial_of_der(der_bytes):
    import ssl
    return serial_of_pem(ssl.DER_cert_to_PEM_cert(der_bytes))


class Certs:
    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.ca = self._make_ca("ca", "slotgate test CA")
        self.rogue_ca = self._make_ca("rogue-ca", "untrusted test CA")
        both = "serverAuth,clientAuth"
        self.node = self.issue("node", "redis-node", san=SAN_LOCAL, usage=both)
        self.proxy = self.issue("proxy", "slotgate", san=SAN_LOCAL, usage="serverAuth")
        self.gate_client = self.issue("gate-client", "slotgate-client", usage="clientAuth")
        self.app = self.issue("app", "legacy-app", usage="clientAuth")
        self.rogue_app = self.issue("rogue-app", "rogue-app", usage="clientAuth", ca="rogue-ca")
        self.rogue_node = self.issue("rogue-node", "rogue-node", san=SAN_LOCAL, usage=both, ca="rogue-ca")
        self.wrong_name = self.issue("wrong-name", "wrong.example", san="DNS:wrong.example,IP:10.9.9.9",
                                     usage=both)
        self.expired = self.issue("expired", "expired", san=SAN_LOCAL, usage=both, expired=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def _make_ca(self, name, cn):
        key, crt = self.path(f"{name}.key"), self.path(f"{name}.crt")
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", key, "-out", crt, "-days", "30", "-subj", f"/O=slotgate tests/CN={cn}",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        return crt

    def issue(self, name, cn, san=None, usage="serverAuth,clientAuth", ca="ca", expired=False):
        """A key and a certificate signed by `ca` ("ca" or "rogue-ca"), with a fresh serial."""
        key, csr, crt = self.path(f"{name}.key"), self.path(f"{name}.csr"), self.path(f"{name}.crt")
        ext = self.path(f"{name}.ext")
        _next_serial[0] += 1
        serial = _next_serial[0]
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                    f"extendedKeyUsage={usage}\n")
            if san:
                f.write(f"subjectAltName={san}\n")
        _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", key, "-out", csr, "-subj", f"/O=slotgate tests/CN={cn}")
        if expired:
            self._sign_expired(csr, crt, ext, ca, serial)
        else:
            _openssl("x509", "-req", "-in", csr, "-CA", self.path(f"{ca}.crt"), "-CAkey", self.path(f"{ca}.key"),
                     "-set_serial", str(serial), "-days", "30", "-extfile", ext, "-out", crt)
        os.chmod(key, 0o644)  # the redis-server and slotgate processes run as the same user anyway
        return Pair(crt, key, serial)

    def _sign_expired(self, csr, crt, ext, ca, serial):
        """`openssl x509 -req` cannot backdate; `openssl ca` can (valid 2020-01-01 .. 2020-01-02)."""
        db = self.path(f"{ca}-db")
        os.makedirs(db, exist_ok=True)
        open(os.path.join(db, "index.txt"), "a").close()
        with open(os.path.join(db, "serial"), "w") as f:
            f.write(f"{serial:X}\n")
        conf = os.path.join(db, "ca.cnf")
        with open(conf, "w") as f:
            f.write(f"[ca]\ndefault_ca=d\n[d]\ndatabase={db}/index.txt\nserial={db}/serial\n"
                    f"new_certs_dir={db}\ncertificate={self.path(ca + '.crt')}\n"
                    f"private_key={self.path(ca + '.key')}\ndefault_md=sha256\npolicy=p\n"
                    "unique_subject=no\n[p]\ncommonName=supplied\norganizationName=optional\n")
        _openssl("ca", "-batch", "-notext", "-config", conf, "-in", csr, "-out", crt, "-extfile", ext,
                 "-startdate", "20200101000000Z", "-enddate", "20200102000000Z")

    def rotate(self, pair, name, cn="slotgate", san=SAN_LOCAL, usage="serverAuth"):
        """A new key and certificate (new serial) written over `pair`'s files, in place of each
        file atomically (rename), as an operator's tooling would. Returns the new Pair."""
        new = self.issue(name, cn, san=san, usage=usage)
        os.replace(new.key, pair.key)
        os.replace(new.crt, pair.crt)
        return Pair(pair.crt, pair.key, new.serial)
