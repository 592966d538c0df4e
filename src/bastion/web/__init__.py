"""The FastAPI application: JSON API, HMA-compatible API and HTML pages. Thin by rule:
parse, authorise, call a domain service, render."""
