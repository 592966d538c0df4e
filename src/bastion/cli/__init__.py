"""The `bastion` command line. Thin: parse, call a domain service, print."""
