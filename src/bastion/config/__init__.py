"""The one settings object. See `settings.Settings`."""

from bastion.config.settings import Settings, get_settings, masked_settings

__all__ = ["Settings", "get_settings", "masked_settings"]
