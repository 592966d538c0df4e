"""Reports computed from Bastion's own records (issue 19): aggregates only, never ids or names."""
