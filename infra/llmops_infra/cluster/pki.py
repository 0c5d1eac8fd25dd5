"""Certificates for the local control plane: one CA, serving and client certificates.

Everything is generated in-process with `cryptography`; nothing shells out to openssl.
Client identities follow Kubernetes' conventions: the certificate's CN is the user and
its O fields are the groups, so ``O=system:masters`` is cluster-admin and
``CN=system:kube-scheduler`` is what the scheduler's default RBAC role binds to.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from llmops_infra.cluster.node_spec import NODE_IP, NODE_NAME

VALIDITY = dt.timedelta(days=365)
SERVICE_IP = "10.96.0.1"  # first address of the service range: the `kubernetes` Service
API_SANS_DNS = (
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)
API_SANS_IP = ("127.0.0.1", SERVICE_IP, NODE_IP)


@dataclass(frozen=True)
class ClientIdentity:
    """A client certificate to issue: file stem, user name and groups."""

    stem: str
    user: str
    groups: tuple[str, ...] = ()


# Who talks to the API server, and as whom.
CLIENTS = (
    ClientIdentity("admin", "llmops-admin", ("system:masters",)),
    ClientIdentity("controller-manager", "system:kube-controller-manager"),
    ClientIdentity("scheduler", "system:kube-scheduler"),
    # kwok stands in for every kubelet; it updates nodes and pods across namespaces, which
    # the Node authorizer would refuse to a single node's identity.
    ClientIdentity("kwok", "kwok-controller", ("system:masters",)),
    # The API server's identity towards aggregated API servers (requestheader auth).
    ClientIdentity("front-proxy-client", "front-proxy-client"),
    # The real node: its kubelet (the Node authorizer limits it to its own node and pods),
    # its kube-proxy (bound to system:node-proxier by default RBAC), and the API server's
    # identity towards the kubelet (logs, exec, port-forward).
    ClientIdentity("kubelet", f"system:node:{NODE_NAME}", ("system:nodes",)),
    ClientIdentity("kube-proxy", "system:kube-proxy"),
    ClientIdentity(
        "apiserver-kubelet-client", "kube-apiserver-kubelet-client", ("system:masters",)
    ),
)


@dataclass(frozen=True)
class Pki:
    """The files of the cluster's PKI under one folder."""

    root: Path

    def cert(self, stem: str) -> Path:
        return self.root / f"{stem}.crt"

    def key(self, stem: str) -> Path:
        return self.root / f"{stem}.key"

    @property
    def ca(self) -> Path:
        return self.cert("ca")

    @property
    def sa_private(self) -> Path:
        return self.root / "sa.key"

    @property
    def sa_public(self) -> Path:
        return self.root / "sa.pub"

    def is_complete(self) -> bool:
        stems = ["ca", "apiserver", *(c.stem for c in CLIENTS)]
        files = [self.cert(s) for s in stems] + [self.key(s) for s in stems]
        return all(f.is_file() for f in [*files, self.sa_private, self.sa_public])


def ensure_pki(root: Path) -> Pki:
    """Create the CA and every certificate once; later calls reuse them."""
    pki = Pki(root)
    if pki.is_complete():
        return pki
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o700)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "llmops-local-ca")])
    ca_cert = (
        _builder(ca_name, ca_name, ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write(pki, "ca", ca_cert, ca_key)

    # One serving certificate for 127.0.0.1, used by every component that listens on it
    # (API server, controller manager, scheduler), so clients verify all of them.
    serving_key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in API_SANS_DNS]
    sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in API_SANS_IP]
    serving = (
        _builder(_name("kube-apiserver"), ca_cert.subject, serving_key.public_key())
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write(pki, "apiserver", serving, serving_key)

    for client in CLIENTS:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            _builder(_name(client.user, client.groups), ca_cert.subject, key.public_key())
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        _write(pki, client.stem, cert, key)

    # Service-account tokens are signed with RSA (what every Kubernetes client expects).
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pki.sa_private.write_bytes(
        sa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    pki.sa_private.chmod(0o600)
    pki.sa_public.write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return pki


def _name(common_name: str, groups: tuple[str, ...] = ()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
    return x509.Name([*attrs, x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
    )


def _write(pki: Pki, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    pki.cert(stem).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file = pki.key(stem)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
