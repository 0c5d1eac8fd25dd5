"""Pure views of a rollout for people (`kubectl llmops`): text (`status_text`) and the
timeline's HTML page (`timeline_page`). Nothing in the core imports them."""
