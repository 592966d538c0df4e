"""The demo platform: a runnable reference implementation of the platform contract.

A small FastAPI app with its own SQLite database of synthetic accounts and
posts (benign generated images only). It verifies signatures, honours
idempotency keys, records every action it receives, can inject faults, and
shows public HTML pages so humans and browser tests can see takedowns land.

    bastion dev platform --db demo-platform.sqlite3 --port 8765
"""

from bastion.dev.platform.app import DemoControls, create_demo_platform_app, demo_controls, serve_demo_platform
from bastion.dev.platform.faults import FaultInjector
from bastion.dev.platform.seed import seed_demo_platform
from bastion.dev.platform.service import ReceivedAction

__all__ = [
    "DemoControls",
    "FaultInjector",
    "ReceivedAction",
    "create_demo_platform_app",
    "demo_controls",
    "seed_demo_platform",
    "serve_demo_platform",
]
