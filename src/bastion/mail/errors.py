"""What a sender raises, so the deliverer knows whether trying again can help."""

from __future__ import annotations


class MailDeliveryError(Exception):
    """A message could not be handed over. Messages never contain credentials."""


class MailUnavailable(MailDeliveryError):
    """Transient: the server is down, busy, or said 4xx. Retried with backoff."""


class MailRejected(MailDeliveryError):
    """Permanent: the server said 5xx to this message. Dead-lettered at once."""


class MailNotConfigured(RuntimeError):
    """No sender in the task context: the app has not wired mail up."""
