"""Running a load test inside a cluster: a pure Job builder and the verdict ConfigMap."""
