"""llmops_infra: the local platform the `llmops` CLI drives.

The local cluster and its real node, the image builds, the vLLM-on-CPU engine, the chart
tooling, the pinned toolchain, `doctor` and the demo. Its settings (`LocalSettings`) and
errors live here too; the CLI (`llmops`) is the one floor above.
"""
