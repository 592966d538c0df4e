"""Every local stand-in and demo app: demo platform, CyberTipline stand-in, demo seed. Only `cli` imports it.

Production packages keep the protocol and client code (``bastion.platform``,
``bastion.ncmec``); what imitates the other side of those protocols lives
here, so no production code path can reach a stand-in by accident.
``tests/foundation/test_layers.py`` enforces that only ``bastion.cli`` imports
this package. Start any of them with ``bastion dev …``, or all of them
behind Bastion with ``bastion serve --demo``.
"""
