"""`llmops gateway serve | new-key`, `llmops ingest PATH --collection C` and
`llmops bench gateway`: thin commands over the `llmops_gateway` component (`llmops.app`
registers them)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from llmops_contracts.routing import RoutingTableError, parse_routing_table
from llmops_gateway.clients.documents import find_documents
from llmops_gateway.clients.routing_file import decode_document
from llmops_gateway.domain.keys import KeyFileError, hash_key, new_api_key, parse_keys
from llmops_gateway.settings import GatewaySettings
from llmops_infra.errors import LlmopsError
from llmops_infra.settings import LocalSettings

app = typer.Typer(help="The OpenAI-compatible RAG gateway.", no_args_is_help=True)
console = Console()


def _check_files(settings: GatewaySettings) -> None:
    """Refuse to start on a bad routing table or keys file, with one readable line."""
    if settings.routing_table is not None:
        data = _read_document("routing table", settings.routing_table)
        try:
            parse_routing_table(data)
        except RoutingTableError as err:
            raise LlmopsError(f"routing table {settings.routing_table}", str(err)) from err
    if settings.keys_file is not None:
        data = _read_document("keys file", settings.keys_file)
        try:
            parse_keys(data)
        except KeyFileError as err:
            raise LlmopsError(f"keys file {settings.keys_file}", str(err)) from err


def _read_document(label: str, path: Path) -> Any:
    try:
        return decode_document(path.read_bytes(), path.name)
    except OSError as err:
        raise LlmopsError(f"{label} {path}", f"cannot read it ({err.strerror})") from err
    except (ValueError, yaml.YAMLError) as err:
        raise LlmopsError(f"{label} {path}", "not valid YAML or JSON") from err


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default 8080).")] = None,
    routing_table: Annotated[
        Path | None, typer.Option(help="Routing table (YAML/JSON), watched and hot-reloaded.")
    ] = None,
    keys_file: Annotated[
        Path | None, typer.Option(help="API keys (hashed); unset: no auth.")
    ] = None,
    milvus_uri: Annotated[
        str | None,
        typer.Option(help="Milvus Lite file or server URI (default: a file in the cache)."),
    ] = None,
) -> None:
    """Serve the gateway (by default in front of the local engine: `llmops engine up`)."""
    from llmops_gateway.app import serve as serve_gateway  # noqa: PLC0415  (the server only here)

    overrides: dict[str, Any] = {
        key: value
        for key, value in {
            "host": host,
            "port": port,
            "routing_table": routing_table,
            "keys_file": keys_file,
            "milvus_uri": milvus_uri,
        }.items()
        if value is not None
    }
    settings = GatewaySettings(**overrides)
    if not settings.milvus_uri:
        rag_dir = LocalSettings().cache_dir / "gateway"
        rag_dir.mkdir(parents=True, exist_ok=True)
        settings = settings.model_copy(update={"milvus_uri": str(rag_dir / "rag.db")})
    _check_files(settings)
    console.print(
        f"gateway on http://{settings.host}:{settings.port}/v1 "
        f"(routing: {settings.routing_table or 'built-in local engine table'}, "
        f"RAG: {settings.milvus_uri})",
        soft_wrap=True,
    )
    serve_gateway(settings)


@app.command("new-key")
def new_key(
    *,
    team: Annotated[str, typer.Option(help="Team the key's usage is counted for.")],
    key_id: Annotated[str, typer.Option("--id", help="Name of the key in the keys file.")],
    models: Annotated[
        list[str] | None, typer.Option("--model", help="Allowed alias (repeat); default all.")
    ] = None,
    rpm: Annotated[int | None, typer.Option(help="Requests per minute.")] = None,
    tpm: Annotated[int | None, typer.Option(help="Tokens per minute.")] = None,
    token_budget: Annotated[int | None, typer.Option(help="Total tokens.")] = None,
) -> None:
    """Create an API key: prints the key once and the keys-file entry (hash only) to add."""
    key = new_api_key()
    entry: dict[str, Any] = {
        "id": key_id,
        "team": team,
        "sha256": hash_key(key),
        "models": models or ["*"],
    }
    for name, value in (("rpm", rpm), ("tpm", tpm), ("token_budget", token_budget)):
        if value is not None:
            entry[name] = value
    console.print(f"key (shown once): {key}", soft_wrap=True)
    console.print("add to the keys file under `keys:`", style="dim")
    typer.echo(yaml.safe_dump([entry], sort_keys=False).rstrip())


INGEST_CLIENT_TIMEOUT_S = 600.0
# Rounds of one request at most; each resumes the last, so a document whose embedding
# outlasts this many gateway time limits is too large for one request and is reported.
INGEST_ROUNDS = 10


def ingest(
    path: Annotated[Path, typer.Argument(help="A file or a folder (.txt, .md, .pdf).")],
    *,
    collection: Annotated[str, typer.Option(help="Collection to upsert into.")],
    gateway: Annotated[
        str, typer.Option(help="Base URL of a running gateway.")
    ] = "http://127.0.0.1:8080",
    api_key: Annotated[str | None, typer.Option(help="API key, if the gateway wants one.")] = None,
    embedder: Annotated[
        str | None, typer.Option(help="Embeddings alias (gateway default).")
    ] = None,
    chunk_size: Annotated[int, typer.Option(help="Characters per chunk, at most.")] = 800,
    chunk_overlap: Annotated[int, typer.Option(help="Characters shared by neighbours.")] = 120,
) -> None:
    """Ingest documents into a RAG collection through the gateway (idempotent: re-running
    changes nothing for unchanged files)."""
    if not path.exists():
        raise LlmopsError(str(path), "no such file or folder")
    sources = find_documents(path)
    if not sources:
        raise LlmopsError(str(path), "no .txt, .md or .pdf file found")
    headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
    reports: list[dict[str, Any]] = []
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    # Longer than the gateway's own ingest limit (ingest_timeout_s, 120 s by default): its
    # answer, 504 ingest_timeout with the progress made, comes before this client gives up.
    timeout = httpx.Timeout(INGEST_CLIENT_TIMEOUT_S, connect=10)
    with progress, httpx.Client(base_url=gateway, headers=headers, timeout=timeout) as client:
        task = progress.add_task(f"ingesting into {collection}", total=len(sources))
        for source in sources:
            progress.update(task, description=f"{source.name[-40:]:<40}")
            document: dict[str, Any] = {"name": source.name, "media_type": source.media_type}
            if source.media_type == "application/pdf":
                document["content_base64"] = base64.b64encode(source.path.read_bytes()).decode()
            else:
                document["text"] = source.path.read_text(encoding="utf-8", errors="replace")
            body = {
                "collection": collection,
                "documents": [document],
                "chunk_size": chunk_size,
                "chunk_overlap": chunk_overlap,
            }
            if embedder:
                body["embedder"] = embedder
            reports.extend(_post_ingest(client, gateway, body))
            progress.advance(task)
    _print_report(collection, reports)
    failed = [report["document"] for report in reports if report["status"] == "failed"]
    if failed:
        raise LlmopsError(
            "ingest", f"{len(failed)} of {len(reports)} documents failed: {', '.join(failed[:5])}"
        )


def _post_ingest(client: httpx.Client, gateway: str, body: dict[str, Any]) -> list[Any]:
    """POST one request; re-sent while the gateway stops it at its time limit (each round
    resumes where the last stopped: written chunks are not embedded again)."""
    for _ in range(INGEST_ROUNDS):
        try:
            response = client.post("/v1/ingest", json=body)
        except httpx.HTTPError as err:
            raise LlmopsError(
                f"gateway {gateway}", f"unreachable ({type(err).__name__})", "llmops gateway serve"
            ) from err
        if response.status_code != 504 or _error_code(response) != "ingest_timeout":
            break
        console.print("the gateway stopped at its time limit; resuming", style="dim")
    if response.status_code != 200:
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = response.text[:200]
        raise LlmopsError(f"gateway {gateway}", f"HTTP {response.status_code}: {message}")
    documents: list[Any] = response.json()["documents"]
    return documents


def _error_code(response: httpx.Response) -> str | None:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return None


def _print_report(collection: str, reports: list[dict[str, Any]]) -> None:
    table = Table(title=f"collection {collection}")
    for column in ("document", "status", "chunks", "upserted", "removed", "error"):
        table.add_column(
            column, justify="right" if column in ("chunks", "upserted", "removed") else "left"
        )
    for report in reports:
        table.add_row(
            report["document"],
            report["status"],
            str(report.get("chunks", "")),
            str(report.get("upserted", "")),
            str(report.get("removed", "")),
            report.get("error", ""),
        )
    console.print(table)


def bench_gateway(
    requests: Annotated[int, typer.Option(help="Requests per scenario with 1 client.")] = 300,
    concurrent_requests: Annotated[
        int, typer.Option(help="Requests per scenario with 50 clients.")
    ] = 2000,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write rows here.")] = None,
) -> None:
    """Latency and throughput the gateway adds over calling a fast test upstream directly."""
    from llmops_gateway.bench import run_bench  # noqa: PLC0415
    from llmops_loadtest.testing.process import start_upstream  # noqa: PLC0415

    with (
        console.status("benchmarking (test upstream and gateway on this machine)"),
        start_upstream() as upstream,
    ):
        rows = run_bench(
            f"{upstream.url}/v1",
            requests_single=requests,
            requests_concurrent=concurrent_requests,
        )
    table = Table(title="gateway overhead vs. direct upstream (fast test upstream, 16 tokens)")
    for column in (
        "mode",
        "clients",
        "requests",
        "direct p50 ms",
        "direct p99 ms",
        "gateway p50 ms",
        "gateway p99 ms",
        "added p50 ms",
        "added p99 ms",
        "direct req/s",
        "gateway req/s",
        "errors",
    ):
        table.add_column(column, justify="left" if column == "mode" else "right")
    for row in rows:
        table.add_row(
            row.mode,
            str(row.clients),
            str(row.requests),
            f"{row.direct_p50_ms:.2f}",
            f"{row.direct_p99_ms:.2f}",
            f"{row.gateway_p50_ms:.2f}",
            f"{row.gateway_p99_ms:.2f}",
            f"{row.added_p50_ms:+.2f}",
            f"{row.added_p99_ms:+.2f}",
            f"{row.direct_rps:.0f}",
            f"{row.gateway_rps:.0f}",
            str(row.errors),
        )
    console.print(table)
    console.print(
        "req/s per gateway worker (one process); client, gateway and upstream share "
        "this machine's cores.",
        style="dim",
    )
    if json_out is not None:
        json_out.write_text(json.dumps([row.__dict__ for row in rows], indent=2))
