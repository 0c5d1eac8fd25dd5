"""I/O at the edge: Kubernetes, Prometheus, the load-test runner, traffic routers."""
