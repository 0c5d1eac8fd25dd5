"""``python -m llmops_operator``: the operator as its image runs it (see `run`)."""

from llmops_operator.run import main

if __name__ == "__main__":
    main()
