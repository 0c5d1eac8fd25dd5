"""The signals of a model revision, defined once: PromQL that the rollout analysis queries
and that the Prometheus recording rules record (`series`, `rules`). Pure: strings in, strings
and plain dicts out."""
