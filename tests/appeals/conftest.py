"""Appeals run against the demo platform, like the review flow they follow."""

from tests.cases.conftest import platform, settings  # noqa: F401  (fixtures)
