"""Appeals against enforcement: decided by someone other than the first decider, reversed through the outbox."""
