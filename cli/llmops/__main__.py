"""``python -m llmops``: the CLI, run by the interpreter at hand (the cluster tier's demo test)."""

from llmops.app import main

if __name__ == "__main__":
    main()
