"""The Dockerfile against the charts that run its images and the lock files it installs.

Pure: these tests read text (Dockerfile, .dockerignore, chart values and templates, the
workspace lock and each image's export of it). The images themselves are built from this
Dockerfile by `llmops images build` (buildah) and run on the local cluster's real node: the
node tier (tests/node) starts them and checks what each one holds.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from tests.dockerfile import (
    DOCKERIGNORE,
    ROOT,
    Dockerfile,
    Pin,
    copies,
    exec_form,
    ignore_rules,
    is_ignored,
    load_dockerfile,
    parse_dockerfile,
    parse_lock,
)

CHARTS = ROOT / "charts"
README = ROOT / "README.md"
WORKSPACE_LOCK = "uv.lock"
BUILD_LOCK = "infra/locks/build.txt"
# image target -> the chart whose Deployment runs it
TARGETS = {"operator": "llmops-operator", "gateway": "rag-gateway"}
# image target -> its lock (uv.lock exported for the component) and the members it installs
IMAGE_LOCKS = {"gateway": "infra/locks/gateway.txt", "operator": "infra/locks/operator.txt"}
IMAGE_MEMBERS = {
    "gateway": ("llmops-gateway", "llmops-contracts"),
    "operator": ("llmops-operator", "llmops-loadtest", "llmops-contracts"),
}
MEMBER_DIRS = {"llmops-gateway": "services", "llmops-operator": "operators",
               "llmops-loadtest": "loadtests", "llmops-contracts": "contracts"}  # fmt: skip
# where the build backend, pip runs and sources live
BUILD_STAGES = (
    "build-backend", "gateway-wheel", "operator-wheel", "gateway-venv", "operator-venv",
)  # fmt: skip
NEVER_SHIPPED = {"ruff", "mypy", "import-linter", "pytest-timeout", "types-pyyaml"}
# What each image must not carry: the other components' and the CLI's dependencies.
NOT_IN = {
    "gateway": {"locust", "matplotlib", "kopf", "kubernetes", "pyhelm3", "typer", "cryptography"},
    "operator": {"fastapi", "pymilvus", "milvus-lite", "pypdf", "pyhelm3", "cryptography"},
}


@pytest.fixture(scope="module")
def dockerfile() -> Dockerfile:
    return load_dockerfile()


def chart_values(chart: str) -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load((CHARTS / chart / "values.yaml").read_text())
    return values


def deployment_template(chart: str) -> str:
    return (CHARTS / chart / "templates" / "deployment.yaml").read_text()


def lock(relative: str) -> dict[str, Pin]:
    pins, unpinned = parse_lock((ROOT / relative).read_text())
    assert unpinned == [], f"{relative}: not pinned with ==: {unpinned}"
    return pins


def workspace_lock() -> dict[str, Any]:
    return tomllib.loads((ROOT / WORKSPACE_LOCK).read_text())


def locked_packages() -> dict[str, dict[str, Any]]:
    return {normalized(p["name"]): p for p in workspace_lock()["package"]}


def closure(packages: dict[str, dict[str, Any]], roots: tuple[str, ...]) -> set[str]:
    """Every package the ``roots`` need at run time in the workspace lock (no dev group)."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = normalized(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        todo += [d["name"] for d in packages[name].get("dependencies", [])]
    return seen


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pip_commands(dockerfile: Dockerfile, stage: str) -> list[list[str]]:
    """Each `... pip ...` command of the stage's RUN lines, split at `&&`, as argv."""
    commands = []
    for instruction in dockerfile.stages[stage].all("RUN"):
        for part in instruction.args.split("&&"):
            argv = shlex.split(part)
            if "pip" in argv:
                commands.append(argv)
    return commands


def test_should_offer_one_target_per_chart_on_a_python_3_11_slim_bookworm_base(
    dockerfile: Dockerfile,
) -> None:
    assert set(TARGETS) <= set(dockerfile.stages)
    for target in TARGETS:
        base = dockerfile.chain(target)[0].base
        # A digest may be appended (production should pin one); the tag stays readable.
        assert re.fullmatch(r"python:3\.11-slim-bookworm(@sha256:[0-9a-f]{64})?", base), base
    # The workspace lock is resolved for the image's Python (and later ones).
    assert workspace_lock()["requires-python"] == ">=3.11"


@pytest.mark.parametrize(("target", "chart"), TARGETS.items())
def test_should_run_as_the_user_and_group_of_its_chart(
    dockerfile: Dockerfile, target: str, chart: str
) -> None:
    security = chart_values(chart)["podSecurity"]
    user = dockerfile.last(target, "USER")

    assert user is not None, f"{target} runs as root"
    assert user.args == f"{security['runAsUser']}:{security['runAsGroup']}" == "10001:10001"


def test_should_run_the_command_of_the_operator_chart(dockerfile: Dockerfile) -> None:
    commands = re.findall(
        r"^\s*command:\s*(\[.*\])\s*$", deployment_template("llmops-operator"), re.M
    )
    assert len(commands) == 1, commands
    cmd = dockerfile.last("operator", "CMD")

    assert cmd is not None
    assert exec_form(cmd) == yaml.safe_load(commands[0]) == ["python", "-m", "llmops_operator"]
    # No ENTRYPOINT: the load-test Jobs' `command: [llmops-loadtest, run, ...]` replaces CMD.
    assert dockerfile.last("operator", "ENTRYPOINT") is None


def test_should_serve_the_gateway_from_its_cmd_because_its_chart_sets_no_command(
    dockerfile: Dockerfile,
) -> None:
    template = deployment_template("rag-gateway")
    cmd = dockerfile.last("gateway", "CMD")

    assert re.findall(r"^\s*(command|args):", template, re.M) == []
    assert cmd is not None
    assert exec_form(cmd) == ["python", "-m", "llmops_gateway"]
    assert (ROOT / "services" / "llmops_gateway" / "__main__.py").is_file()
    assert dockerfile.last("gateway", "ENTRYPOINT") is None
    # The gateway's own default host is 127.0.0.1; probes and the Service use the pod IP.
    host = dockerfile.env("gateway")["LLMOPS_GATEWAY_HOST"]
    assert host == "0.0.0.0"  # noqa: S104 -- the pod's interfaces, which is the point


@pytest.mark.parametrize(
    ("target", "chart", "ports"),
    [
        ("operator", "llmops-operator", lambda v: {v["healthPort"], v["metrics"]["port"]}),
        ("gateway", "rag-gateway", lambda v: {v["service"]["port"]}),
    ],
)
def test_should_expose_the_ports_its_chart_probes_and_serves(
    dockerfile: Dockerfile, target: str, chart: str, ports: Any
) -> None:
    assert dockerfile.exposed(target) == ports(chart_values(chart))


@pytest.mark.parametrize(("target", "chart"), TARGETS.items())
def test_should_put_the_venv_first_on_path_and_home_on_the_charts_tmp_emptydir(
    dockerfile: Dockerfile, target: str, chart: str
) -> None:
    env = dockerfile.env(target)
    [venv] = [c.dest for s in dockerfile.chain(target) for c in copies(s) if c.from_stage]

    # `python` (both charts' commands) and `llmops-loadtest` (the load-test Jobs') are the venv's.
    assert env["PATH"].startswith(f"{venv}/bin:")
    # With a read-only root, only the charts' /tmp emptyDir is writable (caches, matplotlib).
    assert env["HOME"] == "/tmp"
    assert re.search(r"mountPath: /tmp\s*$", deployment_template(chart), re.M)


def test_should_copy_only_files_that_exist_and_reach_the_build_context(
    dockerfile: Dockerfile,
) -> None:
    rules = ignore_rules(DOCKERIGNORE.read_text())
    problems = []
    for stage in dockerfile.stages.values():
        for copy in copies(stage):
            if copy.from_stage is not None:
                if copy.from_stage not in dockerfile.stages:
                    problems.append(f"{stage.name}: --from={copy.from_stage} is no stage")
                continue
            for source in copy.sources:
                path = ROOT / source
                if not path.exists():
                    problems.append(f"{stage.name}: {source} does not exist")
                files = [path] if path.is_file() else sorted(path.rglob("*"))
                for file in files:
                    relative = file.relative_to(ROOT).as_posix()
                    wanted = file.is_file() and "__pycache__" not in file.parts
                    if wanted and is_ignored(relative, rules):
                        problems.append(f"{stage.name}: .dockerignore hides {relative}")

    assert problems == []


def test_should_keep_the_venvs_tools_and_history_out_of_the_build_context() -> None:
    rules = ignore_rules(DOCKERIGNORE.read_text())

    for heavy in (".git", ".venv", ".tools", ".pytest_cache", ".mypy_cache", "tests"):
        assert is_ignored(heavy, rules), heavy
    assert is_ignored("operators/llmops_operator/__pycache__/run.cpython-311.pyc", rules)


def test_should_install_locks_that_exist_and_pin_every_package_with_a_hash(
    dockerfile: Dockerfile,
) -> None:
    installed = set()
    for stage in dockerfile.stages.values():
        copied = {c.dest for c in copies(stage) if c.from_stage is None and c.sources == (c.dest,)}
        for argv in pip_commands(dockerfile, stage.name):
            if "-r" not in argv:
                continue
            requirements = argv[argv.index("-r") + 1]
            installed.add(requirements)
            # Copied to the same relative path (WORKDIR), so the RUN reads the repo's file.
            assert requirements in copied, f"{stage.name}: {requirements} is not copied in"
            assert {"install", "--require-hashes", "--no-deps"} <= set(argv), argv
            for pin in lock(requirements).values():
                assert pin.hashes, f"{requirements}: {pin.name} has no hash"
                assert all(h.startswith("sha256:") for h in pin.hashes), pin

    assert installed == {BUILD_LOCK, *IMAGE_LOCKS.values()}


@pytest.mark.parametrize("target", TARGETS)
def test_should_pin_each_image_to_its_components_closure_in_the_workspace_lock(
    target: str,
) -> None:
    packages = locked_packages()
    image = lock(IMAGE_LOCKS[target])
    wanted = closure(packages, IMAGE_MEMBERS[target]) - set(MEMBER_DIRS)

    # Exactly what its components need (`make lock` exports it), nothing of the others'.
    assert set(image) == wanted, "stale: run `make lock`"
    for name, pin in image.items():
        locked = packages[name]
        files = [locked.get("sdist", {}), *locked.get("wheels", [])]
        assert pin.version == locked["version"], f"{name}: run `make lock`"
        assert set(pin.hashes) == {f["hash"] for f in files if "hash" in f}, name
    assert set(image) & (NEVER_SHIPPED | NOT_IN[target]) == set()


def test_should_declare_each_deployables_dependencies_in_its_own_member() -> None:
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    members = root["tool"]["uv"]["workspace"]["members"]

    assert sorted(members) == sorted(MEMBER_DIRS.values())
    for name, folder in MEMBER_DIRS.items():
        member = tomllib.loads((ROOT / folder / "pyproject.toml").read_text())
        assert normalized(member["project"]["name"]) == name
        assert member["build-system"]["build-backend"] == "hatchling.build"
        # Each member builds only its own package, from its own folder.
        [package] = member["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
        assert (ROOT / folder / package / "__init__.py").is_file()
    assert {normalized(Requirement(r).name) for r in root["project"]["dependencies"]} >= set(
        MEMBER_DIRS
    )


def test_should_build_our_wheels_with_the_pinned_backend_without_isolation(
    dockerfile: Dockerfile,
) -> None:
    for folder in MEMBER_DIRS.values():
        build_system = tomllib.loads((ROOT / folder / "pyproject.toml").read_text())["build-system"]
        [backend] = [Requirement(r) for r in build_system["requires"]]
        pinned = lock(BUILD_LOCK)[normalized(backend.name)]
        assert pinned.version in SpecifierSet(str(backend.specifier)), folder
    for target, members in IMAGE_MEMBERS.items():
        [wheel] = [
            argv for argv in pip_commands(dockerfile, f"{target}-wheel")
            if argv[argv.index("pip") + 1] == "wheel"
        ]  # fmt: skip
        assert {"--no-deps", "--no-build-isolation"} <= set(wheel), wheel
        assert {f"./{MEMBER_DIRS[m]}" for m in members} == {a for a in wheel if a.startswith("./")}
        venv_pips = pip_commands(dockerfile, f"{target}-venv")
        [ours] = [argv for argv in venv_pips if "/wheels/" in " ".join(argv)]
        assert "--no-deps" in ours, ours
        assert {a for a in ours if a.startswith("/wheels/")} == {
            f"/wheels/{m.replace('-', '_')}-*.whl" for m in members
        }


@pytest.mark.parametrize("target", TARGETS)
def test_should_leave_build_tools_sources_and_caches_out_of_the_final_image(
    dockerfile: Dockerfile, target: str
) -> None:
    chain = dockerfile.chain(target)
    froms = {(c.from_stage, c.dest) for s in chain for c in copies(s) if c.from_stage}

    assert not {s.name for s in chain} & set(BUILD_STAGES)
    assert froms == {(f"{target}-venv", "/opt/venv")}  # only its installed venv crosses over
    assert [c for s in chain for c in copies(s) if c.from_stage is None] == []
    assert not any("apt-get" in i.args for s in chain for i in s.all("RUN"))
    for stage in BUILD_STAGES:
        assert dockerfile.env(stage)["PIP_NO_CACHE_DIR"] == "1"
    # No pip (nor setuptools) inside the venv the images run.
    assert "--without-pip" in dockerfile.stages[f"{target}-venv"].all("RUN")[0].args


def test_should_write_every_lock_with_make_lock_and_no_registry_hostname() -> None:
    makefile = (ROOT / "Makefile").read_text()
    variables = dict(re.findall(r"^([A-Z_]+) :?= (.+)$", makefile, re.M))
    recipe = re.search(r"^lock:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe is not None
    commands = [
        re.sub(r"\$\((\w+)\)", lambda m: variables.get(m.group(1), m.group(0)), command)
        for command in recipe.group(1).replace("\\\n", " ").splitlines()
    ]
    outputs = {shlex.split(c)[shlex.split(c).index("-o") + 1]: c for c in commands if "-o" in c}

    assert any(shlex.split(c)[1:3] == ["lock", "--quiet"] for c in commands), commands
    assert set(outputs) == {BUILD_LOCK, *IMAGE_LOCKS.values()}
    for target, path in IMAGE_LOCKS.items():
        argv = shlex.split(outputs[path])
        assert argv[argv.index("--package") + 1] == IMAGE_MEMBERS[target][0]
        assert {"export", "--frozen", "--no-dev", "--no-emit-workspace"} <= set(argv)
    hostname = re.compile(r"://|index-url|find-links|\b[\w-]+(?:\.[\w-]+)*\.(?:org|com|io|net)\b")
    for path in (*IMAGE_LOCKS.values(), BUILD_LOCK, "infra/locks/build.in"):
        text = (ROOT / path).read_text()
        assert hostname.findall(text) == [], path
        if path.endswith(".txt"):
            assert "autogenerated by uv" in text.splitlines()[0], f"{path}: written by hand?"


@pytest.mark.parametrize(("target", "chart"), TARGETS.items())
def test_should_document_the_build_command_of_the_image_its_chart_pulls(
    target: str, chart: str
) -> None:
    repository = chart_values(chart)["image"]["repository"]
    app_version = yaml.safe_load((CHARTS / chart / "Chart.yaml").read_text())["appVersion"]
    command = f"docker build --target {target} -t {repository}"

    assert re.search(rf"{re.escape(command)}:{re.escape(app_version)} \.", README.read_text())
    assert f"{command}:<version> ." in " ".join((ROOT / "Dockerfile").read_text().split())


def test_should_parse_continuations_and_global_args_like_docker() -> None:
    parsed = parse_dockerfile(
        "ARG IMAGE=python:3.11-slim\n"
        "FROM ${IMAGE} AS base\n"
        "RUN a \\\n"
        "# a comment inside a continuation\n"
        "  && b\n"
        "FROM base AS final\n"
        "USER 1:1\n"
    )

    assert parsed.chain("final")[0].base == "python:3.11-slim"
    assert parsed.stages["base"].all("RUN")[0].args == "a && b"
    user = parsed.last("final", "USER")
    assert user is not None
    assert user.args == "1:1"
