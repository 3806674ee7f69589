"""Fixtures of the engine tests live in tests/conftest.py."""
