"""JSON API routers under /api/v1, one module per domain."""
