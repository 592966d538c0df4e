"""Bastion: child-safety and legal-process operations for any platform."""

__version__ = "0.1.0"
