"""The one settings object. See `settings.Settings`."""

from bastion.config.settings import Settings, get_settings, masked_settings, subsystem_environ

__all__ = ["Settings", "get_settings", "masked_settings", "subsystem_environ"]
