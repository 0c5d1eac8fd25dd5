"""The `integration` tier: real local processes (the engine fixture is in tests/conftest.py)."""
