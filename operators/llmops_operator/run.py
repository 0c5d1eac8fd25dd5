"""The operator image's entry point: ``python -m llmops_operator`` runs ``kopf run`` with the
flags `OperatorSettings` implies, so the Helm values -> env -> settings chain is the only
configuration (the chart's Deployment sets the env and no args).

- ``namespaces`` set: ``-n`` for each (namespaced scope); empty: ``--all-namespaces``;
- ``--standalone``: kopf's own peering (KopfPeering CRDs) is off; replicas coordinate through
  one Lease instead (`leader`), which is all the chart grants;
- ``--liveness``: kopf's ``/healthz`` on ``bind_address:health_port`` (it runs the
  ``on.probe`` handlers);
- log level: DEBUG -> ``--debug``, WARNING/ERROR -> ``--quiet``.
"""

from __future__ import annotations

from kopf import cli

from llmops_operator.settings import OperatorSettings


def build_kopf_args(settings: OperatorSettings) -> list[str]:
    args = ["run", "--standalone", "-m", "llmops_operator.main"]
    args.append(f"--liveness=http://{settings.bind_host}:{settings.health_port}/healthz")
    namespaces = settings.watched_namespaces
    if namespaces:
        for namespace in namespaces:
            args += ["-n", namespace]
    else:
        args.append("--all-namespaces")
    if settings.log_level == "DEBUG":
        args.append("--debug")
    elif settings.log_level in ("WARNING", "ERROR"):
        args.append("--quiet")
    return args


def main() -> None:
    cli.main(args=build_kopf_args(OperatorSettings()), prog_name="kopf")
