"""``python -m llmops``: the CLI, run by the interpreter at hand (the operator's gate runs)."""

from llmops.app import main

if __name__ == "__main__":
    main()
