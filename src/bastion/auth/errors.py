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
        minutes = max(1, round(retry_after_seconds / 60))
        super().__init__(f"Too many failed attempts. Try again in about {minutes} minute(s).")
        self.retry_after_seconds = retry_after_seconds


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
