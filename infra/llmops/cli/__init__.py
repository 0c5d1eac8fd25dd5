"""The `llmops` command line: a thin composition layer over every component."""
