"""The `llmops` command line: the top floor of the project.

A thin composition layer: each command parses its options and calls one of the components
(the gateway `llmops_gateway`, the rollout operator `llmops_operator`, the load tests
`llmops_loadtest`) or the local-platform tooling (`llmops_infra`: cluster, real node,
images, engine, charts). None of them imports this package.
"""

__version__ = "0.1.0"
