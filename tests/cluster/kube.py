"""How cluster tests reach the cluster."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Kube:
    """How tests reach the cluster: a kubeconfig and an env with the pinned tools on PATH."""

    kubeconfig: Path
    env: dict[str, str] = field(default_factory=dict)

    def kubectl(
        self, *args: str, as_user: str | None = None, check: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        cmd = ["kubectl", f"--kubeconfig={self.kubeconfig}", *args]
        if as_user:
            cmd.append(f"--as={as_user}")
        result = subprocess.run(
            cmd, capture_output=True, text=True, env=self.env, input=stdin, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed: {result.stderr.strip()}")
        return result
