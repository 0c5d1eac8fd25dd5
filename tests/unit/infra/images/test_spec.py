"""The local images' catalogue, cache keys and commands: pure, no buildah, no disk writes."""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath

import pytest

from llmops_infra.engine.layout import REQUIREMENTS_FILE, read_pins
from llmops_infra.images.load import build_import_command
from llmops_infra.images.spec import (
    ENGINE_MODELS_MOUNT,
    ENGINE_PYTHON_MOUNT,
    ENGINE_VENV_MOUNT,
    MILVUS_VERSION,
    VLLM_CPU_VERSION,
    Containerfile,
    ImageConfig,
    ImageSpec,
    Rootfs,
    build_cache_key,
    build_catalog,
    build_config_flags,
    build_engine_mounts,
    build_mmdebstrap_command,
    is_input_file,
    parse_app_version,
    parse_pyvenv_home,
    plan_builds,
    resolve_build_args,
)
from tests.dockerfile import ROOT

pytestmark = pytest.mark.unit

VERSIONS = {"rag-gateway": "0.1.0", "llmops-operator": "0.2.0"}


@pytest.fixture
def catalog() -> dict[str, ImageSpec]:
    return build_catalog(VERSIONS)


def test_should_name_every_image_under_docker_io_llmops_with_its_charts_app_version(
    catalog: dict[str, ImageSpec],
) -> None:
    assert catalog["rag-gateway"].ref == "docker.io/llmops/rag-gateway:0.1.0"
    assert catalog["llmops-operator"].ref == "docker.io/llmops/llmops-operator:0.2.0"
    assert set(catalog) == {
        "base", "rag-gateway", "llmops-operator", "vllm-cpu", "milvus", "mlflow", "prometheus",
        "chart-tests", "pause", "coredns", "otelcol", "jaeger",
    }  # fmt: skip
    assert all(spec.ref.startswith("docker.io/llmops/") for spec in catalog.values())


def test_should_read_the_app_version_of_a_chart_yaml() -> None:
    assert parse_app_version('apiVersion: v2\nname: x\nappVersion: "1.2.3"\n') == "1.2.3"
    with pytest.raises(ValueError, match="appVersion"):
        parse_app_version("apiVersion: v2\nname: x\n")


def test_should_tag_the_engine_and_milvus_images_with_the_versions_they_pin() -> None:
    assert read_pins(REQUIREMENTS_FILE.read_text())["vllm-cpu"] == VLLM_CPU_VERSION
    milvus_lock = (ROOT / "infra/images/milvus/requirements.txt").read_text()
    assert f"milvus=={MILVUS_VERSION.lstrip('v')} " in milvus_lock
    assert "--hash=sha256:" in milvus_lock


def test_should_build_parents_first_and_only_what_was_asked(
    catalog: dict[str, ImageSpec],
) -> None:
    assert plan_builds(catalog, ["rag-gateway"]) == ["base", "rag-gateway"]
    assert plan_builds(catalog, ["pause"]) == ["pause"]
    everything = plan_builds(catalog, [])
    assert everything.index("base") < everything.index("milvus")
    with pytest.raises(ValueError, match="unknown image nope"):
        plan_builds(catalog, ["nope"])


def test_should_build_the_gateway_and_operator_from_the_dockerfile_on_the_local_base(
    catalog: dict[str, ImageSpec],
) -> None:
    for name, target in (("rag-gateway", "gateway"), ("llmops-operator", "operator")):
        source = catalog[name].source
        assert isinstance(source, Containerfile)
        assert (source.file, source.target) == ("Dockerfile", target)
        assert resolve_build_args(source, "localhost/llmops-build/base:k") == [
            ("PYTHON_IMAGE", "localhost/llmops-build/base:k")
        ]
        assert catalog[name].parents == ("base",)
        assert "Dockerfile" in catalog[name].inputs


def test_should_name_only_inputs_that_exist_in_the_checkout(
    catalog: dict[str, ImageSpec],
) -> None:
    for spec in catalog.values():
        for entry in spec.inputs:
            assert (ROOT / entry).exists(), f"{spec.name}: {entry}"


def test_should_rebuild_every_image_when_the_builder_changes(
    catalog: dict[str, ImageSpec],
) -> None:
    for spec in catalog.values():
        assert {"infra/llmops_infra/images/spec.py", "infra/llmops_infra/images/build.py"} <= set(
            spec.inputs
        )


def test_should_leave_caches_out_of_the_key() -> None:
    assert is_input_file(PurePosixPath("infra/llmops_infra/images/spec.py"))
    assert not is_input_file(PurePosixPath("infra/llmops_infra/__pycache__/x.cpython-311.pyc"))
    assert not is_input_file(PurePosixPath("services/x.egg-info/PKG-INFO"))


def test_should_change_the_key_with_any_input_file_parent_or_fact(
    catalog: dict[str, ImageSpec],
) -> None:
    spec = catalog["rag-gateway"]
    files = {"Dockerfile": "a", "infra/llmops_infra/x.py": "b"}
    key = build_cache_key(spec, files, {"base": "k1"})
    assert key == build_cache_key(spec, dict(reversed(files.items())), {"base": "k1"})
    assert key != build_cache_key(spec, {**files, "Dockerfile": "c"}, {"base": "k1"})
    assert key != build_cache_key(spec, files, {"base": "k2"})
    assert key != build_cache_key(spec, files, {"base": "k1"}, {"go": "go1.26"})
    assert key != build_cache_key(catalog["llmops-operator"], files, {"base": "k1"})


def test_should_name_the_archive_by_name_tag_and_key(catalog: dict[str, ImageSpec]) -> None:
    pause = catalog["pause"]
    assert pause.archive_name("abc") == f"pause-{pause.tag}-abc.tar"
    assert pause.build_ref("abc") == "localhost/llmops-build/pause:abc"


def test_should_write_a_rootfs_as_a_tar_from_the_pinned_suite() -> None:
    source = Rootfs(variant="essential", packages=("a", "b"), hooks=("echo $1",))
    command = build_mmdebstrap_command("mmdebstrap", source, Path("/w/rootfs.tar"))
    assert command[:4] == ["mmdebstrap", "--variant=essential", "--format=tar", "--include=a,b"]
    assert "--customize-hook=echo $1" in command
    suite = command.index("bookworm")
    assert command[suite + 1] == "/w/rootfs.tar"
    assert all(mirror.startswith("deb http") for mirror in command[suite + 2 :])
    # The extract variant runs no customize phase: its hooks run right after extraction.
    extract = Rootfs(variant="extract", packages=("a",), hooks=("echo $1",))
    assert "--extract-hook=echo $1" in build_mmdebstrap_command("m", extract, Path("/o"))


def test_should_set_exec_form_entrypoint_and_env_with_buildah_config() -> None:
    config = ImageConfig(entrypoint=("/pause",), env=(("A", "1"),), user="65535:65535")
    flags = build_config_flags(config)
    assert json.loads(flags[flags.index("--entrypoint") + 1]) == ["/pause"]
    assert flags[flags.index("--env") + 1] == "A=1"
    assert flags[flags.index("--user") + 1] == "65535:65535"
    assert "--cmd" not in flags


def test_should_run_non_root_images_as_the_charts_user(catalog: dict[str, ImageSpec]) -> None:
    assert catalog["vllm-cpu"].config.user == "10001:10001"
    assert catalog["chart-tests"].config.user == "10001:10001"
    milvus = (ROOT / "infra/images/milvus/Containerfile").read_text()
    assert "USER 10001:10001" in milvus
    assert 'CMD ["milvus", "run", "standalone"]' in milvus  # the milvus chart's command


def test_should_give_the_chart_tests_image_the_shell_tools_the_hooks_run(
    catalog: dict[str, ImageSpec],
) -> None:
    source = catalog["chart-tests"].source
    assert isinstance(source, Rootfs)
    assert "curl" in source.packages
    hooks = "\n".join(source.hooks)
    for tool in ("sh", "grep"):
        assert f'"$1/bin/{tool}"' in hooks


def test_should_run_the_engine_from_the_mounted_venv_through_the_images_venv_shell(
    catalog: dict[str, ImageSpec],
) -> None:
    engine = catalog["vllm-cpu"]
    assert engine.config.entrypoint == (
        "/opt/vllm/bin/python", "-m", "vllm.entrypoints.openai.api_server",
    )  # fmt: skip
    hooks = "\n".join(engine.source.hooks) if isinstance(engine.source, Rootfs) else ""
    assert f"ln -s {ENGINE_PYTHON_MOUNT}/bin/python3.11" in hooks
    assert f"ln -s {ENGINE_VENV_MOUNT}/lib/python3.11/site-packages" in hooks
    assert ("LD_LIBRARY_PATH", f"{ENGINE_PYTHON_MOUNT}/lib") in engine.config.env


def test_should_mount_the_venv_its_interpreter_and_the_models_read_only_paths() -> None:
    cfg = "home = /root/.pyenv/versions/3.11.7/bin\nversion_info = 3.11.7\n"
    prefix = parse_pyvenv_home(cfg)
    assert prefix == Path("/root/.pyenv/versions/3.11.7")
    mounts = build_engine_mounts(Path("/c/engine/v"), prefix, Path("/c/models"))
    assert mounts == [
        (Path("/c/engine/v"), ENGINE_VENV_MOUNT),
        (prefix, ENGINE_PYTHON_MOUNT),
        (Path("/c/models"), ENGINE_MODELS_MOUNT),
    ]
    with pytest.raises(ValueError, match="home"):
        parse_pyvenv_home("version = 3.11\n")


def test_should_import_into_the_k8s_io_namespace_of_the_given_socket() -> None:
    command = build_import_command("ctr", Path("/n/containerd.sock"), Path("/i/pause.tar"))
    assert command == [
        "ctr", "--address", "/n/containerd.sock", "-n", "k8s.io", "images", "import",
        "/i/pause.tar",
    ]  # fmt: skip


def test_should_keep_only_the_newest_archives_of_one_image(tmp_path: Path) -> None:
    from llmops_infra.images.build import _prune  # noqa: PLC0415 (the one I/O helper tested here)

    for age, key in enumerate(["a", "b", "c", "d"]):
        archive = tmp_path / f"gw-0.1.0-{key}.tar"
        archive.write_text(key)
        os.utime(archive, (1000 + age, 1000 + age))
    other = tmp_path / "gw-extra-0.1.0-x.tar"
    other.write_text("x")

    _prune(tmp_path / "gw-0.1.0-d.tar", "gw-0.1.0-", keep=2)

    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "gw-0.1.0-c.tar", "gw-0.1.0-d.tar", "gw-extra-0.1.0-x.tar",
    ]  # fmt: skip


def test_should_name_only_the_older_builds_of_the_one_image() -> None:
    from llmops_infra.images.build import stale_builds  # noqa: PLC0415

    listed = "\n".join([
        "localhost/llmops-build/rag-gateway:new",
        "localhost/llmops-build/rag-gateway:old",
        "localhost/llmops-build/rag-gateway-extra:old",
        "localhost/llmops-build/base:old",
        "<none>:<none>",
    ])  # fmt: skip

    assert stale_builds(listed, "rag-gateway", "new") == ["localhost/llmops-build/rag-gateway:old"]
    assert stale_builds(listed, "rag-gateway", "other") == [
        "localhost/llmops-build/rag-gateway:new", "localhost/llmops-build/rag-gateway:old",
    ]  # fmt: skip
