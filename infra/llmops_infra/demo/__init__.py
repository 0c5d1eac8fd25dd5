"""`llmops demo`: the platform's main job end to end, on real pods. A new model revision
goes out through a canary, judged by a load-test gate and by analysis on the cluster's own
Prometheus, and becomes stable; with ``fail_gate`` an impossible SLO makes the gate fail and
the operator rolls the revision back.

Steps, each shown as it runs (with the command a user would type):

1. the local cluster with its real node is up (started if needed; left running after);
2. ``llmops local install``: our images built (cached) and loaded on the node, the umbrella
   chart with the local overlay (gateway, Milvus, operator, Prometheus, the embedder), every
   pod Ready; the release's own first model is scaled to 0 (two revisions side by side need
   its memory);
3. revision 1 of ModelDeployment ``chat`` applied with kubectl; the operator's pod makes its
   vLLM pod, and the gateway serves alias ``chat`` (a ``chat`` a previous demo left is kept
   when this revision 1 is its stable, e.g. after ``fail_gate``; else deleted first);
4. the sample corpus (``examples/corpus``) ingested through the gateway pod into the Milvus
   pod; one RAG question answered with citations;
5. a steady client starts sending chat requests through the gateway; ``kubectl patch`` makes
   revision 2 (other engine flags and retrieval settings): 20 % of traffic, the load-test gate
   as an in-cluster Job through the gateway with the canary pinned, analysis on Prometheus,
   50 %, a pause, the switch (or, with ``fail_gate``, the rollback); the client keeps going
   until the revision that lost its traffic has no pod left, and every request is counted;
6. the final ``kubectl llmops status``, the timeline page, the gate's summary, a Prometheus
   reading, and where to look.

Work dir: ``chat.yaml`` (the manifest applied), ``timeline.html``, ``load-test-summary.md``.

Modules: `plan` (pure: the manifest and its patch, how a rollout reads, the load's tally),
`processes` (kubectl, port-forwards, the plugin, the steady load), `run` (the steps).
"""

from llmops_infra.demo.plan import DEFAULT_NAMESPACE, STRICT_SLO, Outcome
from llmops_infra.demo.run import DemoResult, run_demo, stop_demo

__all__ = ["DEFAULT_NAMESPACE", "STRICT_SLO", "DemoResult", "Outcome", "run_demo", "stop_demo"]
