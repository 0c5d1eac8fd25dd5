"""llmops: local platform tooling (cluster, toolchain, engine) and the `llmops` CLI.

The CLI (`llmops.cli`) is the top floor of the project: it composes the gateway
(`llmops_gateway`), the rollout operator (`llmops_operator`) and the load-test tool
(`llmops_loadtest`); none of them imports this package.
"""

__version__ = "0.1.0"
