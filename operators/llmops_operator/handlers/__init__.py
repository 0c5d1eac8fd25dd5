"""kopf handler bodies, one module per verb and noun; `main` only registers them."""
