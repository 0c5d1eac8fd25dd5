"""Rehearse the Dockerfile's install steps in fresh venvs, then run what the images run.

No image is built and no container runs here: the build machines have no Docker engine.
Instead, on this machine's Python (the same 3.11 as the Dockerfile's base image), the fixture
repeats what the Dockerfile's build stages do:

1. stage ``wheel``: the files its COPY lines name are copied into a scratch source folder
   (minus what .dockerignore leaves out of the context); a build venv gets the hash-pinned
   backend of infra/locks/build.txt; ``pip wheel --no-deps --no-build-isolation`` builds ours;
2. stage ``venv``: a fresh venv without pip gets infra/locks/runtime.txt with
   ``--require-hashes --no-deps --only-binary :all:``, then our wheel with ``--no-deps``.

uv installs the locks (the Dockerfile uses pip; both check the same hashes and resolve
nothing) because its warm cache makes the rehearsal take seconds; unlike pip it compiles no
bytecode, so first imports here are slower than in the image, not different. The tests then
prove, in that venv only: nothing is missing (``uv pip check``: the runtime lock is complete
without the dev extra), the operator's modules import and build their kopf arguments (kopf is
not started: there is no cluster to watch), the gateway app is created with default settings
and the gateway image's CMD serves ``/healthz``, and the operator's load-test command runs.

Not covered here: the base image itself (Debian bookworm's CPython rather than this
machine's), wheels for other architectures, and the user, file ownership and read-only root
that the cluster would impose (tests/unit/test_images.py checks the Dockerfile's side).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from llmops.charts.toolvenv import find_uv
from llmops.settings import LocalSettings, base_env
from tests.dockerfile import (
    DOCKERIGNORE,
    ROOT,
    Dockerfile,
    copies,
    exec_form,
    ignore_rules,
    is_ignored,
    load_dockerfile,
)
from tests.integration.gateway.procs import free_port

STEP_TIMEOUT_S = 300.0
START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ImageVenv:
    """The rehearsed /opt/venv and the environment its processes get (the images' ENV)."""

    root: Path
    env: dict[str, str]
    uv: str

    @property
    def python(self) -> str:
        return str(self.root / "bin" / "python")

    def run(self, *argv: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(argv), env=self.env, cwd=self.env["HOME"], capture_output=True, text=True,
            timeout=timeout, check=False,
        )  # fmt: skip


def _step(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> None:
    result = subprocess.run(
        argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=STEP_TIMEOUT_S, check=False
    )
    assert result.returncode == 0, f"{' '.join(argv)}:\n{result.stdout}\n{result.stderr}"


def _copy_context(dockerfile: Dockerfile, stage: str, src: Path) -> None:
    """What the stage's COPY lines put under its WORKDIR, taken from the build context."""
    rules = ignore_rules(DOCKERIGNORE.read_text())

    def ignored(folder: str, names: list[str]) -> list[str]:
        relative = Path(folder).relative_to(ROOT)
        return [n for n in names if is_ignored((relative / n).as_posix(), rules)]

    for copy in copies(dockerfile.stages[stage]):
        assert copy.from_stage is None, f"rehearsal of {stage} expects no COPY --from"
        for source in copy.sources:
            into_folder = len(copy.sources) > 1 or copy.dest.endswith("/")
            dest = src / copy.dest / Path(source).name if into_folder else src / copy.dest
            dest.parent.mkdir(parents=True, exist_ok=True)
            if (ROOT / source).is_dir():
                shutil.copytree(ROOT / source, dest, ignore=ignored)
            else:
                shutil.copy2(ROOT / source, dest)


@pytest.fixture(scope="module")
def image_venv(tmp_path_factory: pytest.TempPathFactory) -> ImageVenv:
    dockerfile = load_dockerfile()
    base = dockerfile.chain("operator")[0].base
    image_python = re.match(r"python:(\d+\.\d+)-", base)
    assert image_python is not None, base
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert here == image_python.group(1), f"rehearsing a {base} image on Python {here}"

    tmp = tmp_path_factory.mktemp("image")
    env = base_env()
    env.update({k: v for k, v in dockerfile.env("base").items() if "$" not in v})  # pip's
    uv = find_uv(LocalSettings(), env.get("PATH"))

    # Stage `wheel`: the pinned backend in its own venv builds our wheel, no isolation.
    src, build, wheels = tmp / "src", tmp / "build", tmp / "wheels"
    _copy_context(dockerfile, "wheel", src)
    _step([sys.executable, "-m", "venv", str(build)], env)
    _step(
        [uv, "pip", "install", "--python", str(build / "bin" / "python"), "--require-hashes",
         "--no-deps", "--only-binary", ":all:", "-r", str(src / "infra/locks/build.txt")],
        env,
    )  # fmt: skip
    _step(
        [str(build / "bin" / "python"), "-m", "pip", "wheel", "--no-deps",
         "--no-build-isolation", "--wheel-dir", str(wheels), "."],
        env, cwd=src,
    )  # fmt: skip
    [wheel] = wheels.glob("llmops-*.whl")

    # Stage `venv`: the runtime lock, wheels only, nothing resolved; then our wheel.
    venv = tmp / "opt-venv"
    _step([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], env)
    python = str(venv / "bin" / "python")
    _step(
        [uv, "pip", "install", "--python", python, "--require-hashes", "--no-deps",
         "--only-binary", ":all:", "-r", str(ROOT / "infra/locks/runtime.txt")],
        env,
    )  # fmt: skip
    _step([uv, "pip", "install", "--python", python, "--no-deps", str(wheel)], env)

    # What the images' processes see: their ENV, with this venv and a scratch HOME (/tmp there).
    home = tmp / "home"
    home.mkdir()
    image_env = {k: v for k, v in dockerfile.env("operator").items() if "$" not in v}
    image_env.update(
        {"VIRTUAL_ENV": str(venv), "HOME": str(home), "LANG": "C.UTF-8",
         "PATH": f"{venv}/bin:/usr/local/bin:/usr/bin:/bin"}
    )  # fmt: skip
    return ImageVenv(venv, image_env, uv)


def test_should_install_the_runtime_lock_completely_without_the_dev_extra(
    image_venv: ImageVenv,
) -> None:
    check = subprocess.run(
        [image_venv.uv, "pip", "check", "--python", image_venv.python],
        env=base_env(), capture_output=True, text=True, timeout=STEP_TIMEOUT_S, check=False,
    )  # fmt: skip

    assert check.returncode == 0, check.stdout + check.stderr
    assert "compatible" in check.stdout + check.stderr
    for tool in ("ruff", "mypy", "lint-imports", "pip"):
        assert not (image_venv.root / "bin" / tool).exists(), f"{tool} is in the image venv"


def test_should_import_the_operator_from_the_venv_and_build_its_kopf_args(
    image_venv: ImageVenv,
) -> None:
    # Importing llmops_operator.main registers the kopf handlers; nothing is started.
    script = (
        "import importlib.util, json\n"
        "import llmops_operator, llmops_operator.main\n"
        "from llmops_operator.run import build_kopf_args\n"
        "from llmops_operator.settings import OperatorSettings\n"
        "print(json.dumps({'file': llmops_operator.__file__,\n"
        "  'runnable': importlib.util.find_spec('llmops_operator.__main__') is not None,\n"
        "  'args': build_kopf_args(OperatorSettings())}))\n"
    )
    result = image_venv.run(image_venv.python, "-c", script)

    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert Path(found["file"]).is_relative_to(image_venv.root), "imported from outside the venv"
    assert found["runnable"] is True  # the chart's `python -m llmops_operator`
    assert found["args"][:4] == ["run", "--standalone", "-m", "llmops_operator.main"]
    assert "--all-namespaces" in found["args"]


def test_should_create_the_gateway_app_with_default_settings(image_venv: ImageVenv) -> None:
    script = (
        "import llmops_gateway.app\n"
        "from llmops_gateway.settings import GatewaySettings\n"
        "app = llmops_gateway.app.create_app(GatewaySettings())\n"
        "print(type(app).__name__, llmops_gateway.app.__file__)\n"
    )
    result = image_venv.run(image_venv.python, "-c", script)

    assert result.returncode == 0, result.stderr
    kind, file = result.stdout.split()
    assert kind == "FastAPI"
    assert Path(file).is_relative_to(image_venv.root)


def test_should_serve_healthz_with_the_gateway_image_command(
    image_venv: ImageVenv, tmp_path: Path
) -> None:
    dockerfile = load_dockerfile()
    cmd = dockerfile.last("gateway", "CMD")
    assert cmd is not None
    port = free_port()
    env = {k: v for k, v in dockerfile.env("gateway").items() if "$" not in v}
    # The image listens on 0.0.0.0; on a shared machine the rehearsal stays on loopback.
    env.update(image_venv.env, LLMOPS_GATEWAY_HOST="127.0.0.1", LLMOPS_GATEWAY_PORT=str(port))
    log = tmp_path / "gateway.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            exec_form(cmd), env=env, cwd=env["HOME"], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        status = 0
        deadline = time.monotonic() + START_TIMEOUT_S
        while status != 200 and time.monotonic() < deadline:
            assert process.poll() is None, f"gateway exited: {log.read_text()[-2000:]}"
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code
            except httpx.HTTPError:
                time.sleep(0.2)

        assert status == 200, log.read_text()[-2000:]
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_should_run_the_load_test_command_of_the_operator_gates(image_venv: ImageVenv) -> None:
    # The operator's gates run `python -m llmops loadtest run`; in-cluster Jobs run `llmops`.
    as_module = image_venv.run(image_venv.python, "-m", "llmops", "loadtest", "run", "--help")
    as_script = image_venv.run("llmops", "loadtest", "run", "--help")
    # What the gates' runs import beyond the CLI: Locust's side and the report's plots.
    imports = image_venv.run(
        image_venv.python,
        "-c",
        "import llmops_loadtest.users.openai, llmops_loadtest.users.rag,"
        " llmops_loadtest.shapes, llmops_loadtest.report.plots",
    )

    assert as_module.returncode == 0, as_module.stderr
    assert "--target" in as_module.stdout
    assert as_script.returncode == 0, as_script.stderr
    assert imports.returncode == 0, imports.stderr
