"""The `bastion` command line, including `bastion dev …` for the stand-ins. Thin: parse, call a service, print."""
