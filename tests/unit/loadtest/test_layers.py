"""The pure core imports neither Locust, gevent nor an HTTP client (until import-linter runs it).

Also: nothing the CLI process imports pulls in Locust (gevent would monkey-patch it).
"""

from __future__ import annotations

import ast
from pathlib import Path

import llmops_loadtest

PACKAGE = Path(llmops_loadtest.__file__).parent
FORBIDDEN_IN_CORE = {"locust", "gevent", "geventhttpclient", "httpx", "requests", "fastapi"}
LOCUST_SIDE = {"locustfile", "shapes", "bench_plain", "users"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_imports_no_locust_gevent_or_http_client() -> None:
    for path in (PACKAGE / "core").glob("*.py"):
        roots = {name.split(".")[0] for name in _imports(path)}
        assert not roots & FORBIDDEN_IN_CORE, f"{path.name} imports {roots & FORBIDDEN_IN_CORE}"


def test_only_the_locust_side_imports_locust() -> None:
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0].removesuffix(".py") in LOCUST_SIDE:
            continue
        imported = _imports(path)
        assert not any(name.split(".")[0] in {"locust", "gevent"} for name in imported), relative
        assert not any(
            name.startswith(f"llmops_loadtest.{side}") for name in imported for side in LOCUST_SIDE
        ), relative
