"""The docs site's reference pages, generated from the sources at build time so they cannot rot.

Each renderer is pure (plain data or the objects the sources define, in; Markdown out):

- ``cli.render_cli_reference``: a Typer app's command tree (``typer.main.get_command``), every
  command with its help, usage and options, as ``--help`` prints them;
- ``crd.render_crd_reference``: every field of a CRD's ``openAPIV3Schema``, with its type,
  constraints and description;
- ``metrics.render_metrics_reference``: Prometheus metric objects (name, type, labels, help);
- ``rules.render_rules_reference``: the umbrella chart's rendered Prometheus rules (recording
  rules, alerts with their severity, summary and runbook link);
- chart values pages are the chart READMEs as `llmops charts docs` generates them
  (``llmops_infra.charts.docs.render_readme``), fresh from values.yaml.

``pages.reference_pages`` is the thin shell: it reads the sources and returns every page by
its path under ``docs/``. The CLI's tree is passed in (the CLI is the top floor: nothing here
imports it); ``infra/docs/mkdocs_hooks.py`` adds the pages to the MkDocs build.
"""
