"""Pure builders of what the shell writes to Kubernetes, from the machine's `Decision`.

- `workloads`: a revision's Deployment and Service, its labels, and the gateway's routing table;
- `autoscalers`: a revision's HPA or KEDA ScaledObject;
- `router_weights`: HTTPRoute backendRefs and KServe's ``canaryTrafficPercent``;
- `kserve`: what the operator reads from and writes to an InferenceService;
- `loadtest_plan`: what the load-test gate runs (profile, gate files, target);
- `release_manifest`: the Deployments a release covers and the ConfigMap keeping its manifest.
"""
