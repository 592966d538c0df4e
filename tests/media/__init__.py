"""Tests for bastion.media (a package, so module names cannot clash elsewhere)."""
