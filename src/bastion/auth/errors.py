"""Authentication errors. Messages are deliberately generic where detail would help an attacker."""

from __future__ import annotations

from bastion.errors import BastionError


class InvalidCredentials(BastionError):
    code = "invalid_credentials"
    status = 401

    def __init__(self) -> None:
        super().__init__("Invalid username or password.")


class AccountThrottled(BastionError):
    code = "throttled"
    status = 429

    def __init__(self, retry_after_seconds: int) -> None:
        if retry_after_seconds < 90:
            wait = f"{max(1, retry_after_seconds)} second(s)"
        else:
            wait = f"about {round(retry_after_seconds / 60)} minute(s)"
        super().__init__(f"Too many failed attempts. Try again in {wait}.")
        self.retry_after_seconds = max(1, retry_after_seconds)


class InvalidSecondFactor(BastionError):
    code = "invalid_second_factor"
    status = 401

    def __init__(self) -> None:
        super().__init__("That code is not valid. Enter the current 6-digit code from your authenticator app.")


class NotAuthenticated(BastionError):
    code = "not_authenticated"
    status = 401

    def __init__(self, message: str = "Log in first, or send a valid API key.") -> None:
        super().__init__(message)


class SecondFactorRequired(BastionError):
    code = "second_factor_required"
    status = 401

    def __init__(self, enrolled: bool) -> None:
        text = "Enter your second-factor code first." if enrolled else "Enrol a second factor (TOTP) first."
        super().__init__(text)
        self.enrolled = enrolled


class CsrfFailed(BastionError):
    code = "csrf_failed"
    status = 403

    def __init__(self) -> None:
        super().__init__("The form's security token is missing or wrong. Reload the page and try again.")


class ApiKeyExpired(BastionError):
    """A real key past its expiry: said plainly, so its owner knows to ask for a new one."""

    code = "api_key_expired"
    status = 401

    def __init__(self, expired_at: str) -> None:
        super().__init__(f"This API key expired at {expired_at}. Ask an admin for a new key.")


class StepUpRequired(BastionError):
    """The act needs the caller's second factor now, not only at login."""

    code = "second_factor_required"
    status = 401

    def __init__(self, message: str = "Enter the current code from your authenticator app to do this.") -> None:
        super().__init__(message)
