"""Command lines, kubeconfigs and fake nodes of the local cluster, as plain data."""

from __future__ import annotations

import base64
from pathlib import Path

from llmops_infra.cluster import spec


def layout(tmp: Path = Path("/state")) -> spec.Layout:
    return spec.Layout(
        state=tmp,
        binaries=Path("/bin-dir"),
        kwok_config=Path("/bin-dir/../kwok.yaml"),
        etcd_client_port=1,
        etcd_peer_port=2,
        apiserver_port=3,
        controller_manager_port=4,
        scheduler_port=5,
        kwok_port=6,
    )


def flags(process: spec.ProcessSpec) -> dict[str, str]:
    return dict(a.removeprefix("--").split("=", 1) for a in process.argv[1:] if "=" in a)


def test_should_start_components_in_dependency_order() -> None:
    names = [c.name for c in spec.build_components(layout())]

    assert names == ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"]


def test_should_turn_on_rbac_and_real_tls_on_the_api_server() -> None:
    apiserver = flags(spec.build_apiserver(layout()))

    assert apiserver["authorization-mode"] == "Node,RBAC"
    assert apiserver["anonymous-auth"] == "false"
    assert apiserver["client-ca-file"] == "/state/pki/ca.crt"
    assert apiserver["tls-cert-file"] == "/state/pki/apiserver.crt"
    assert apiserver["etcd-servers"] == "http://127.0.0.1:1"
    assert apiserver["secure-port"] == "3"


def test_should_point_every_component_at_its_own_port_and_binary() -> None:
    for component in spec.build_components(layout()):
        assert component.argv[0] == f"/bin-dir/{component.name}"
        assert f":{component.port}" in component.health_url


def test_should_let_controllers_act_as_their_own_service_accounts() -> None:
    manager = flags(spec.build_controller_manager(layout()))

    assert manager["use-service-account-credentials"] == "true"
    assert manager["service-account-private-key-file"] == "/state/pki/sa.key"


def test_should_make_kwok_manage_only_annotated_nodes() -> None:
    kwok = flags(spec.build_kwok(layout()))
    node = spec.build_fake_node("n0")

    key, value = kwok["manage-nodes-with-annotation-selector"].split("=")
    assert node["metadata"]["annotations"][key] == value


def test_should_give_fake_nodes_gpus_and_no_taints() -> None:
    node = spec.build_fake_node("n0", gpus=4)

    assert node["status"]["allocatable"]["nvidia.com/gpu"] == "4"
    assert "taints" not in node["spec"]


def test_should_inline_certificates_in_the_kubeconfig() -> None:
    config = spec.build_kubeconfig(
        cluster="c", server="https://x", ca_pem=b"CA", user="u", cert_pem=b"C", key_pem=b"K"
    )

    cluster = config["clusters"][0]["cluster"]
    assert base64.b64decode(cluster["certificate-authority-data"]) == b"CA"
    assert config["current-context"] == "c"
    assert "as" not in config["users"][0]["user"]


def test_should_impersonate_a_service_account_with_its_groups() -> None:
    user, groups = spec.service_account_identity("team-a", "bot")
    config = spec.build_kubeconfig(
        cluster="c",
        server="https://x",
        ca_pem=b"CA",
        user=user,
        cert_pem=b"C",
        key_pem=b"K",
        impersonate=user,
        impersonate_groups=groups,
    )

    auth = config["users"][0]["user"]
    assert auth["as"] == "system:serviceaccount:team-a:bot"
    assert "system:serviceaccounts:team-a" in auth["as-groups"]


def test_should_make_the_pool_class_the_default_with_immediate_binding() -> None:
    storage_class = spec.build_storage_class()
    volume = spec.build_pool_volume(3, Path("/state/volumes"))

    assert storage_class["metadata"]["annotations"] == {
        "storageclass.kubernetes.io/is-default-class": "true"
    }
    assert storage_class["volumeBindingMode"] == "Immediate"
    assert volume["spec"]["storageClassName"] == storage_class["metadata"]["name"]
    assert volume["metadata"]["name"] == "llmops-pool-03"
