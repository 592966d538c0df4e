"""Reuse the legal desk's fixtures (catalogue, directory, vault, request builder)."""

from tests.legal.conftest import desk, submit, vault  # noqa: F401
