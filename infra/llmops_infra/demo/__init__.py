"""`llmops demo`: the platform's main job end to end on this machine. A new model revision
goes out through a load-tested canary and becomes stable; with ``fail_gate`` an impossible
SLO makes the gate fail and the operator rolls the revision back.

Steps, each shown as it runs (with the command a user would type, where there is one):

1. the local cluster and the vLLM engine are up (started if needed, left running after);
2. the ModelDeployment CRD is applied; the namespace is made fresh (one an earlier demo made
   is deleted first; one the demo did not make is refused, never touched);
3. the real gateway and the real operator start as local processes;
4. ``examples/rollouts/canary-load-tested.yaml`` (as shipped) is applied; revision 1 comes up;
5. ``spec.model.revision`` is patched to 2: 10 % of traffic, the load-test gate through the
   gateway with the canary pinned, 50 %, a short pause, the switch (or the rollback);
6. the final ``kubectl llmops status``, the timeline page, the gate's report; the processes
   the demo started are stopped.

What stands in: kwok runs no containers, so the revisions' pods are Ready but serve nothing;
the gateway's routing table sends both revisions' traffic to the local vLLM instead.

Work dir: ``routing.yaml`` (the gateway's table), ``gateway.log``, ``operator.log``,
``<process>.pid`` (written at start, removed at stop: a pid file left by a killed demo lets
the next one stop that process), ``reports/`` (the gate runs), ``timeline.html``.

Modules: `plan` (pure: the routing table, the manifest, how a rollout reads), `processes`
(the gateway, the operator, kubectl and the plugin), `run` (the steps in order).
"""

from llmops_infra.demo.plan import DEFAULT_NAMESPACE, STRICT_SLO, Outcome
from llmops_infra.demo.run import DemoResult, run_demo

__all__ = ["DEFAULT_NAMESPACE", "STRICT_SLO", "DemoResult", "Outcome", "run_demo"]
