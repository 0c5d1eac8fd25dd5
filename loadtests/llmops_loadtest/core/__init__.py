"""The pure core: records, statistics, gates, profiles, prompt sets, schedules, analysis.

Nothing here performs I/O beyond reading records from files, and nothing imports Locust,
gevent or an HTTP client (import-linter contract), so every module is tested without
processes.
"""
