"""How cluster tests reach the cluster."""

from __future__ import annotations

import subprocess
import time
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

    def wait_established(self, crd: str, timeout_s: float = 60.0) -> None:
        """Until the CRD is Established. `kubectl wait` errors out instead of waiting while a
        just-created CRD has no status conditions yet (seen on a fresh cluster's first test)."""
        deadline = time.monotonic() + timeout_s
        jsonpath = '{.status.conditions[?(@.type=="Established")].status}'
        while True:
            found = self.kubectl("get", f"crd/{crd}", "-o", f"jsonpath={jsonpath}", check=False)
            if found.stdout.strip() == "True":
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"crd/{crd} not Established after {timeout_s:.0f} s: "
                                     f"{found.stdout or found.stderr}")  # fmt: skip
            time.sleep(0.5)
