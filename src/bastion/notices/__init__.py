"""Telling the account holder what was done and why: statements of reasons, and when they are withheld."""
