"""charts/milvus, charts/rag-gateway, charts/llmops-operator: values change what they should."""

from __future__ import annotations

from typing import Any

from llmops_operator.settings import OperatorSettings
from tests.integration.charts.render import Charts, find, kinds


def test_should_run_milvus_standalone_with_embedded_etcd_on_its_own_pvc(charts: Charts) -> None:
    sts = find(charts.render("milvus", {"persistence": {"size": "5Gi"}}), "StatefulSet")
    env = {e["name"]: e["value"] for e in sts["spec"]["template"]["spec"]["containers"][0]["env"]}

    assert env["ETCD_USE_EMBED"] == "true"
    assert env["COMMON_STORAGETYPE"] == "local"
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"] == {
        "storage": "5Gi"
    }


def test_should_retain_milvus_data_on_uninstall_unless_told_to_delete(charts: Charts) -> None:
    default = find(charts.render("milvus"), "StatefulSet")["spec"]
    delete = find(
        charts.render("milvus", {"persistence": {"whenDeleted": "Delete"}}), "StatefulSet"
    )

    assert default["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Retain"
    assert delete["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Delete"
    assert "kubectl delete pvc data-r-milvus-0 -n ns" in charts.notes("milvus")


def test_should_point_the_gateway_at_in_stack_backends_by_default(charts: Charts) -> None:
    docs = charts.render("rag-gateway")
    config = find(docs, "ConfigMap", "r-rag-gateway")["data"]
    seed = find(docs, "ConfigMap", "llmops-routing")["data"]["routing.yaml"]

    assert 'url: "http://r-llm-inference:8000/v1"' in seed
    assert config["LLMOPS_GATEWAY_MILVUS_URI"] == "http://r-milvus:19530"


def test_should_point_the_gateway_at_an_external_milvus(charts: Charts) -> None:
    values = {"milvus": {"host": "milvus.vectors.svc", "port": 443}}
    config = find(charts.render("rag-gateway", values), "ConfigMap", "r-rag-gateway")["data"]

    assert config["LLMOPS_GATEWAY_MILVUS_URI"] == "http://milvus.vectors.svc:443"


def test_should_roll_the_gateway_when_its_settings_change(charts: Charts) -> None:
    def checksum(max_context_chars: int) -> str:
        docs = charts.render("rag-gateway", {"rag": {"maxContextChars": max_context_chars}})
        return str(find(docs, "Deployment")["spec"]["template"]["metadata"]["annotations"])

    assert checksum(4000) != checksum(8000)


def test_should_read_api_keys_from_the_named_secret(charts: Charts) -> None:
    values = {"auth": {"existingSecret": "keys", "secretKey": "k"}}
    pod = find(charts.render("rag-gateway", values), "Deployment")["spec"]["template"]["spec"]

    assert {
        "name": "api-keys",
        "secret": {"secretName": "keys", "items": [{"key": "k", "path": "k"}]},
    } in pod["volumes"]


def test_should_let_only_backend_clients_reach_vllm_and_milvus(charts: Charts) -> None:
    docs = charts.render("rag-gateway")
    policies = [
        d
        for d in docs
        if d["kind"] == "NetworkPolicy"
        and "app.kubernetes.io/component" in d["spec"]["podSelector"].get("matchLabels", {})
    ]  # the gateway's own policy is proven in test_network_policy.py
    gateway_pod = find(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]

    assert {
        p["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for p in policies
    } == {
        "inference",
        "vector-store",
    }
    assert policies[0]["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"] == {
        "llmops.dev/backend-client": "true"
    }
    assert gateway_pod["llmops.dev/backend-client"] == "true"
    assert "NetworkPolicy" not in kinds(
        charts.render("rag-gateway", {"networkPolicy": {"enabled": False}})
    )


def test_should_render_ingress_and_httproute_only_when_enabled(charts: Charts) -> None:
    values = {"httpRoute": {"enabled": True, "parentRefs": [{"name": "gw", "namespace": "infra"}]}}
    route = find(charts.render("rag-gateway", values), "HTTPRoute")

    assert route["spec"]["parentRefs"] == [{"name": "gw", "namespace": "infra"}]
    assert not {"Ingress", "HTTPRoute"} & kinds(charts.render("rag-gateway"))


def test_should_give_the_operator_cluster_rbac_by_default(charts: Charts) -> None:
    docs = charts.render("llmops-operator")
    rules = find(docs, "ClusterRole")["rules"]

    assert {"ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"} <= kinds(docs)
    assert any("modeldeployments/status" in r["resources"] for r in rules)
    assert all("*" not in r["verbs"] and "*" not in r["resources"] for r in rules)


def test_should_use_only_namespaced_roles_in_namespaced_mode(charts: Charts) -> None:
    values = {"watch": {"scope": "namespaced", "namespaces": ["team-a", "team-b"]}}
    docs = charts.render("llmops-operator", values)
    roles = {d["metadata"].get("namespace", "release") for d in docs if d["kind"] == "Role"}
    env = find(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["env"]

    assert not {"ClusterRole", "ClusterRoleBinding"} & kinds(docs)
    assert roles == {"team-a", "team-b", "release"}  # "release": the leader-election Lease
    assert {"name": "LLMOPS_OPERATOR_NAMESPACES", "value": "team-a,team-b"} in env


def test_should_omit_the_lease_role_without_leader_election(charts: Charts) -> None:
    docs = charts.render("llmops-operator", {"leaderElection": {"enabled": False}})

    assert "Role" not in kinds(docs)


LEASE_TIMINGS = ("lease_duration_s", "renew_deadline_s", "retry_period_s")


def _operator_settings_env(docs: list[dict[str, Any]]) -> dict[str, str]:
    """The operator container's literal env, keyed by the settings field each one sets."""
    container = find(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    return {
        e["name"].removeprefix("LLMOPS_OPERATOR_").lower(): e["value"]
        for e in container["env"]
        if "value" in e
    }


def test_should_default_the_lease_timings_to_the_operators_own_defaults(charts: Charts) -> None:
    env = _operator_settings_env(charts.render("llmops-operator"))
    defaults = OperatorSettings()

    assert {k: float(env[k]) for k in LEASE_TIMINGS} == {
        k: float(getattr(defaults, k)) for k in LEASE_TIMINGS
    }


def test_should_pass_lease_timings_to_settings_that_accept_them(charts: Charts) -> None:
    timings = {"leaseDurationSeconds": 30, "renewDeadlineSeconds": 20, "retryPeriodSeconds": 0.5}
    env = _operator_settings_env(charts.render("llmops-operator", {"leaderElection": timings}))
    settings = OperatorSettings.model_validate({k: env[k] for k in LEASE_TIMINGS})

    assert (settings.lease_duration_s, settings.renew_deadline_s, settings.retry_period_s) == (
        30,
        20.0,
        0.5,
    )


def test_should_install_gateway_milvus_operator_and_a_first_model_with_one_chart(
    charts: Charts,
) -> None:
    docs = charts.render("llmops-stack")
    names = {f"{d['kind']}/{d['metadata']['name']}" for d in docs}

    assert {
        "Deployment/r-llm-inference",
        "StatefulSet/r-milvus",
        "Deployment/r-rag-gateway",
        "Deployment/r-llmops-operator",
        "CustomResourceDefinition/modeldeployments.llmops.dev",
        "ConfigMap/r-prometheus-rules",
        "ConfigMap/r-grafana-dashboards",
    } <= names


def test_should_ship_recording_rules_alerts_with_values_and_the_dashboards(
    charts: Charts,
) -> None:
    docs = charts.render("llmops-stack", {"observability": {"alerts": {"queueDepth": 7}}})
    rules = find(docs, "ConfigMap", "r-prometheus-rules")["data"]["llmops.rules.yaml"]
    dashboards = find(docs, "ConfigMap", "r-grafana-dashboards")

    assert "model_revision:llmops_gateway_time_to_first_token_seconds:p95_5m" in rules
    assert "model_revision:vllm_num_requests_waiting:max > 7" in rules
    assert "{{ $labels.model }}" in rules  # Prometheus templating survives Helm's
    assert dashboards["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert "llmops-fleet.json" in dashboards["data"]


def test_should_leave_milvus_out_for_an_external_cluster(charts: Charts) -> None:
    values = {"milvus": {"enabled": False}, "rag-gateway": {"milvus": {"host": "ext.svc"}}}
    docs = charts.render("llmops-stack", values)

    assert "StatefulSet" not in kinds(docs)
    config = find(docs, "ConfigMap", "r-rag-gateway")["data"]
    assert config["LLMOPS_GATEWAY_MILVUS_URI"] == "http://ext.svc:19530"


def test_should_start_the_operator_module_with_only_env_its_settings_read(charts: Charts) -> None:
    deployment = find(charts.render("llmops-operator"), "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    fields = {e["name"].removeprefix("LLMOPS_OPERATOR_").lower() for e in container["env"]}

    assert container["command"] == ["python", "-m", "llmops_operator"]
    assert fields <= set(OperatorSettings.model_fields)
    assert {"namespaces", "leader_election", "lease_name", "health_port", *LEASE_TIMINGS} <= fields


def test_should_bind_the_operators_endpoints_to_the_pods_ip_unless_told_otherwise(
    charts: Charts,
) -> None:
    def bind_env(values: dict[str, Any]) -> dict[str, Any]:
        container = find(charts.render("llmops-operator", values), "Deployment")["spec"][
            "template"
        ]["spec"]["containers"][0]
        return next(e for e in container["env"] if e["name"] == "LLMOPS_OPERATOR_BIND_ADDRESS")

    # The operator's own default is loopback, which the kubelet's probes would not reach.
    assert OperatorSettings().bind_address == "127.0.0.1"
    assert bind_env({}) == {
        "name": "LLMOPS_OPERATOR_BIND_ADDRESS",
        "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}},
    }
    assert bind_env({"bindAddress": "::"})["value"] == "::"
    assert OperatorSettings(bind_address=bind_env({"bindAddress": "::"})["value"]).bind_host == (
        "[::]"
    )


def test_should_refuse_a_bind_address_that_is_no_ip_address(charts: Charts) -> None:
    assert "bindAddress" in charts.error("llmops-operator", {"bindAddress": "localhost"})


def test_should_pass_analysis_mlflow_and_load_test_values_to_the_operator(charts: Charts) -> None:
    values = {
        "analysis": {"prometheusUrl": "http://prom.monitoring:9090", "timeoutSeconds": 3},
        "mlflow": {"trackingUri": "http://mlflow.mlops:5000"},
        "loadTest": {"gatewayUrl": "http://r-rag-gateway.llmops:8080", "graceSeconds": 120},
    }
    docs = charts.render("llmops-operator", values)
    settings = OperatorSettings.model_validate(_operator_settings_env(docs))

    assert settings.prometheus_url == "http://prom.monitoring:9090"
    assert settings.prometheus_timeout_s == 3
    assert settings.mlflow_tracking_uri == "http://mlflow.mlops:5000"
    assert settings.loadtest_gateway_url == "http://r-rag-gateway.llmops:8080"
    assert settings.loadtest_grace_s == 120
    # Gate reports live on the pod's /tmp emptyDir, whose size the chart caps.
    assert settings.report_dir.startswith("/tmp/")
    volume = find(docs, "Deployment")["spec"]["template"]["spec"]["volumes"][0]
    assert volume["emptyDir"] == {"sizeLimit": "1Gi"}


def test_should_let_the_pause_process_reap_what_stopped_load_test_gates_leave(
    charts: Charts,
) -> None:
    pod = find(charts.render("llmops-operator"), "Deployment")["spec"]["template"]["spec"]
    assert pod["shareProcessNamespace"] is True


def test_should_scrape_the_revision_pods_the_operator_creates_when_asked(charts: Charts) -> None:
    """No chart's monitor selects the revision pods: the operator chart's PodMonitor does,
    with the model and revision labels the recording rules group vLLM's series by."""
    assert "PodMonitor" not in kinds(charts.render("llmops-operator"))
    on = {"metrics": {"revisionPodMonitor": {"enabled": True}}}
    monitor = find(charts.render("llmops-operator", on), "PodMonitor")
    assert monitor["spec"]["namespaceSelector"] == {"any": True}  # cluster scope
    assert monitor["spec"]["selector"]["matchExpressions"] == [
        {"key": "llmops.dev/modeldeployment", "operator": "Exists"}
    ]
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    targets = {r["targetLabel"] for r in endpoint["relabelings"]}
    assert endpoint["port"] == "http" and {"model", "revision"} <= targets
    namespaced = {**on, "watch": {"scope": "namespaced", "namespaces": ["a", "b"]}}
    found = [d for d in charts.render("llmops-operator", namespaced) if d["kind"] == "PodMonitor"]
    assert sorted(d["metadata"]["namespace"] for d in found) == ["a", "b"]
    assert all("namespaceSelector" not in d["spec"] for d in found)


def test_should_grant_rbac_rights_only_when_gates_run_as_jobs(charts: Charts) -> None:
    """The Job runner makes a ServiceAccount and a Role per gate run; the process runner
    needs neither, and its RBAC says so."""

    def rules(values: dict[str, Any]) -> list[dict[str, Any]]:
        docs = charts.render("llmops-operator", values)
        return [r for d in docs if d["kind"] in ("Role", "ClusterRole") for r in d["rules"]]

    def grants(found: list[dict[str, Any]], resource: str) -> bool:
        return any(resource in r.get("resources", []) for r in found)

    assert grants(rules({}), "roles") and grants(rules({}), "serviceaccounts")
    process = rules({"loadTest": {"runner": "process"}})
    assert not grants(process, "roles") and not grants(process, "serviceaccounts")
    assert not any("escalate" in r["verbs"] or "bind" in r["verbs"] for r in rules({}))
