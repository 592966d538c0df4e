"""The FastAPI application: JSON API (`api`), HMA-compatible API (`hma`) and HTML pages (`ui`).

Thin by rule: parse, authorise, call a domain service, render. No domain imports it.
"""
