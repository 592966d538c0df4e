"""Server-rendered pages (Jinja2 + htmx, no JavaScript build step)."""
