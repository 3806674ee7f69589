"""Fixtures of the store tests live in tests/conftest.py."""
