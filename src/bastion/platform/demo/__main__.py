"""``python -m bastion.platform.demo``: seed (if empty) and serve the demo platform.

The shared secret comes from ``--secret`` or ``BASTION_PLATFORM_SECRET``;
without either, a random one is generated and printed so Bastion can be
configured with it (acceptable only because this is a demo).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Sequence

from bastion.platform.demo.seed import DEFAULT_SEED, seed_demo_platform
from bastion.platform.demo.server import serve_demo_platform

SECRET_ENV = "BASTION_PLATFORM_SECRET"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bastion.platform.demo", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--db", default="demo-platform.sqlite3", help="SQLite file (created)")
    parser.add_argument("--secret", help=f"shared signing secret (default: ${SECRET_ENV})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="image generation seed")
    args = parser.parse_args(argv)

    secret = args.secret or os.environ.get(SECRET_ENV)
    if not secret:
        secret = secrets.token_urlsafe(32)
        print(
            f"No secret given; generated one for this run:\n  {SECRET_ENV}={secret}",
            file=sys.stderr,
        )
    if seed_demo_platform(args.db, seed=args.seed):
        print(f"Seeded demo data into {args.db}", file=sys.stderr)
    print(f"Demo platform on http://{args.host}:{args.port}/", file=sys.stderr)
    serve_demo_platform(args.host, args.port, args.db, secret)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
