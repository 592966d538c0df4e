"""Organisation settings that staff change at run time (audited), as opposed to process config."""

from bastion.orgsettings.store import REGISTRY, OrgSetting, fractions, get_value, list_values, set_value

__all__ = ["REGISTRY", "OrgSetting", "fractions", "get_value", "list_values", "set_value"]
