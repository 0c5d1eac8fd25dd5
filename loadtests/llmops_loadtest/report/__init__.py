"""The report a person reads before a release: ``report.json``, ``report.html``, ``summary.md``."""
