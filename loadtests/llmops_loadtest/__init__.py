"""LLM-aware load tests on Locust: realistic token traffic, SLO gates and a readable report.

Layers (arrows point down; import-linter keeps `core` free of Locust, gevent and HTTP clients):

- `core`: pure data and math: per-request records, percentiles, goodput, SLO gates, profiles,
  prompt sets, load schedules, report data and compare ratios;
- `users`, `shapes`, `locustfile`: what runs inside the Locust process (never imported by the
  CLI or the tests: Locust monkey-patches the process it runs in);
- `runner`, `preflight`, `report`, `k8s`, `bench`: the shell around a headless Locust subprocess.
"""
