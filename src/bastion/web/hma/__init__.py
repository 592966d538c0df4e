"""The HMA 2.x-compatible API (/h, /m, /c). See docs/hma-api-reference.md.

Tools built for Meta's Hasher-Matcher-Actioner ("OpenMediaMatch") talk to Bastion
unchanged: same paths, status codes, JSON shapes and `{"message": ...}` errors.
They authenticate with a Bastion API key (`Authorization: Bearer bst_...` or
`X-API-Key`). Modules: `hashing` (/h), `matching` (/m), `curation` (/c), `exchanges` (/c/exchanges…, /c/exchange/…), `status` (/status, /status/live, /livez,
/openapi/openapi.json), `dialect` (strict HMA), `conversion` (HMA's pixel conversion), `translate`
(HMA's operations onto Bastion's domain services: names, texts, shapes), `types` (signal
and content types), `schemas` (request models). The rules live in the domains.

Signal-type `enabled_ratio` values (PUT /c/signal_type/...) are kept in memory on
the app, per process, and audited; as in HMA they change nothing (a type counts as
enabled whenever its ratio is >= 0), so losing them on restart loses nothing.
"""

from fastapi import APIRouter

from bastion.web.hma import curation, exchanges, hashing, matching, status

router = APIRouter(include_in_schema=True)
router.include_router(hashing.router)
router.include_router(matching.router)
router.include_router(curation.router)
router.include_router(exchanges.router)
router.include_router(status.router)

__all__ = ["router"]
