"""``python -m llmops_loadtest run ...``: the load-test command (see `llmops_loadtest.cli`)."""

from llmops_loadtest.cli import main

if __name__ == "__main__":
    main()
