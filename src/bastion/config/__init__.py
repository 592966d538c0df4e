"""The one settings object, from `BASTION_*` variables and an optional TOML file (`settings.Settings`).

Subsystems take typed configs built from it (`VaultConfig.from_settings`, `MailConfig`, ...).
"""

from bastion.config.settings import Settings, get_settings, masked_settings

__all__ = ["Settings", "get_settings", "masked_settings"]
