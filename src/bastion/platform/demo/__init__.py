"""A runnable reference implementation of the platform contract.

A small FastAPI app with its own SQLite database of synthetic accounts and
posts (benign generated images only). It verifies signatures, honours
idempotency keys, records every action it receives, can inject faults, and
shows public HTML pages so humans and browser tests can see takedowns land.

    python -m bastion.platform.demo --db demo-platform.sqlite3 --port 8765
"""

from bastion.platform.demo.app import DemoControls, create_demo_platform_app, demo_controls
from bastion.platform.demo.faults import FaultInjector
from bastion.platform.demo.seed import seed_demo_platform
from bastion.platform.demo.server import BackgroundServer, serve_demo_platform
from bastion.platform.demo.service import ReceivedAction

__all__ = [
    "BackgroundServer",
    "DemoControls",
    "FaultInjector",
    "ReceivedAction",
    "create_demo_platform_app",
    "demo_controls",
    "seed_demo_platform",
    "serve_demo_platform",
]
