"""Wire formats shared by the deployables, defined once (pure: pydantic only).

- `llmops_contracts.routing`: the routing table (aliases -> backends). The operator writes
  it into a ConfigMap, the demo into a file; the gateway reads and watches it.
- `llmops_contracts.errors`: the one error base (`LlmopsError`: piece, problem, fix), which
  every component's errors subclass and the CLI prints as one line.
"""
