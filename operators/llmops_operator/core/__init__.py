"""The operator's pure core: typed spec/status, the rollout state machine, builders.

Nothing here imports kopf, kubernetes or an HTTP client (an import-linter contract keeps it
so): every function is plain data in, plain data out, and is tested tick by tick.

Sub-packages, top to bottom (an import-linter layers contract keeps the arrows pointing down):

- `manifests`: pure builders of the Kubernetes objects the shell writes (revision workloads
  and the routing table, autoscalers, router weights, the InferenceService, the load-test plan);
- `rollout` (the state machine), `registry` (MLflow references), `leader` (Lease rules):
  independent of each other;
- `state`: the typed status, phases and conditions, the timeline;
- `spec`: the typed spec.

Entry points: `rollout.advance.advance`, `rollout.advance.plan_measurements`,
`manifests.workloads.build_*`; `rollout.scaling` (how canaries coexist with autoscalers),
`leader.lease` (leader election rules).
"""
