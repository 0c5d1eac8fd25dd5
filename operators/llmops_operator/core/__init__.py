"""The operator's pure core: typed spec/status, the rollout state machine, builders.

Nothing here imports kopf, kubernetes or an HTTP client (an import-linter contract keeps it
so): every function is plain data in, plain data out, and is tested tick by tick.
Entry points: `machine.advance`, `machine.plan_measurements`, `builders.build_*`;
`autoscaling` (how canaries coexist with autoscalers), `lease` (leader election rules).
"""
