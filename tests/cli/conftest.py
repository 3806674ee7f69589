"""Fixtures of the CLI tests live in tests/conftest.py."""
