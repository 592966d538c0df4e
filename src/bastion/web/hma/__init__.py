"""The HMA 2.x-compatible API (/h, /m, /c). See docs/hma-api-reference.md."""

from fastapi import APIRouter

router = APIRouter(include_in_schema=True)
