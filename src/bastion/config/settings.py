"""Bastion's settings: one object, from `BASTION_*` environment variables and an optional TOML file.

Precedence (highest first): explicit constructor arguments, environment variables,
the TOML file named by `BASTION_CONFIG_FILE`, defaults. Secrets are `SecretStr`, so
they print as `**********` everywhere, including logs and `bastion config show`.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

MASK = "**********"


class Settings(BaseSettings):
    """Effective configuration of one Bastion process."""

    model_config = SettingsConfigDict(env_prefix="BASTION_", extra="ignore")

    data_dir: Path = Field(Path("var"), description="Where the embedded database, vault and keys live.")
    database_url: str = Field("", description="SQLAlchemy URL; empty means SQLite at <data_dir>/bastion.db.")
    secret_key: SecretStr | None = Field(
        None, description="Signs CSRF tokens and encrypts TOTP secrets; empty means a key file in data_dir."
    )
    admin_password: SecretStr | None = Field(None, description="Password for the first admin created by `bastion init`.")
    admin_username: str = Field("admin", description="Username of the first admin.")
    host: str = Field("127.0.0.1", description="Address `bastion serve` binds.")
    port: int = Field(8000, description="Port `bastion serve` binds.")
    base_url: str = Field("http://127.0.0.1:8000", description="Public URL of this instance, used in links.")
    cookie_secure: bool = Field(False, description="Mark cookies Secure; turn on behind HTTPS.")
    session_hours: int = Field(12, ge=1, description="How long a web session lives without activity.")
    login_max_failures: int = Field(
        5, ge=1, description="Failed passwords (or second-factor codes) before an account is locked for unrecognised clients.")
    login_lockout_minutes: int = Field(15, ge=1, description="How long a locked account, address or device must wait.")
    login_ip_max_failures: int = Field(20, ge=1, description="Failed logins from one client address, any accounts, before it is locked.")
    login_failure_window_minutes: int = Field(60, ge=1, description="A quiet spell this long forgets earlier failures.")
    trusted_proxies: str = Field(
        "", description="Comma-separated proxy addresses whose X-Forwarded-For is believed (the login throttle counts per client address).")
    apikey_default_days: int = Field(90, ge=1, description="Lifetime of an API key when none is asked for.")
    apikey_max_days: int = Field(365, ge=1, description="Longest lifetime an API key may be given.")
    apikey_step_up_max_minutes: int = Field(
        60, ge=1, description="Longest lifetime of a key with media or account-data scopes (minted by its owner with a fresh code).")
    password_reset_minutes: int = Field(60, ge=5, description="How long an emailed password reset link stays valid.")
    log_level: str = Field("INFO", description="Root log level.")
    log_json: bool = Field(True, description="Write logs as one JSON object per line.")
    ticker_interval_seconds: float = Field(2.0, gt=0, description="How often the in-process ticker looks for due timers.")
    workers: int = Field(2, ge=1, description="Threads of the in-process executor.")
    delivery_lease_seconds: int = Field(
        300, ge=1, description="How long a worker holds a platform action it is delivering; a worker killed "
        "mid-delivery delays the action by this much before the sweeper has it delivered again.")
    task_outbox_retention_days: float = Field(
        7.0, gt=0, description="How long published task messages stay in task_outbox before the hourly prune "
        "deletes them (pending ones are never deleted).")
    outbox_sweep_grace_seconds: float = Field(
        60.0, gt=0, description="How long a new action or message waits for its task message before the "
        "outbox sweeper presumes the message lost and publishes another.")
    media_max_bytes: int = Field(50 * 1024 * 1024, ge=1, description="Largest upload or fetched file, in bytes.")
    video_sync_max_bytes: int = Field(
        20 * 1024 * 1024, ge=0, description="Largest video POST /api/v1/scan decodes while the caller waits; a larger "
        "one is refused (413, async_only) and goes to the asynchronous batch API, POST /api/v1/scans.")
    video_decode_slots: int = Field(
        2, ge=1, description="Videos one process decodes at once (hashing, review frames, silent copies): another "
        "is refused with decoder_busy (503) by the server and waits for a slot in `bastion worker`.")
    media_max_pixels: int = Field(
        50_000_000, ge=1, description="Largest image, in pixels, checked from the header before decoding (a 50 MP "
        "camera's full size; PDQ itself works from a 512 px reduction).")
    media_decode_budget_pixels: int = Field(
        120_000_000, ge=1, description="Pixels one server process decodes at once; past it uploads get 503 + Retry-After.")
    media_decode_workers: int = Field(
        2, ge=0, description="Decoder processes (memory-capped); 0 decodes inside the server process.")
    media_decode_memory_mb: int = Field(
        2560, ge=256, description="Address-space cap of each decoder process, in MiB (RLIMIT_AS).")
    media_fast_decode: bool = Field(
        True, description="Decode large JPEGs at 1/2-1/8 scale, keeping 4 samples per PDQ filter window, and apply "
        "PDQ's full-size filter (10x faster at 2048 px; mean 0.7 bits from the exact hash, p99 4). False: every pixel, "
        "hashed by the reference pdqhash.")
    scan_url_allowed_hosts: str = Field("", description="Comma-separated hosts URLs may be fetched from; empty: any public host.")
    scan_url_allowed_networks: str = Field(
        "", description="Comma-separated private networks fetching may reach anyway (e.g. a media CDN's), as CIDRs."
    )
    scan_url_timeout_seconds: float = Field(10.0, gt=0, description="Time limit for fetching a URL.")
    exchange_allowed_hosts: str = Field(
        "", description="Comma-separated hosts hash exchanges may fetch from; empty: any public host.")
    exchange_allowed_networks: str = Field(
        "", description="Comma-separated private networks hash exchanges may reach anyway (e.g. a local stand-in), as CIDRs.")
    exchange_max_bytes: int = Field(
        2 * 1024**3, ge=1, description="Largest hash list a URL-list exchange downloads (spooled to disk; 10M PDQ lines are ~0.7 GB).")
    pdq_index: str = Field("mih", pattern="^(mih|brute)$", description="PDQ index: mih (fast, exact) or brute (reference).")
    platform_url: str = Field("", description="Base URL of the host platform's Bastion connector API.")
    platform_secret: SecretStr | None = Field(None, description="Shared HMAC secret for the platform connector.")
    classifier_url: str = Field("", description="Base URL of an external classifier of unknown material (its "
                                "signal only routes and ranks cases); empty: off.")
    classifier_key: SecretStr | None = Field(None, description="The operator's own API key for that classifier.")
    evidence_master_key: SecretStr | None = Field(None, description="Vault master key (hex or base64); else the key file.")
    audit_anchor_dir: str = Field("", description="Where the server writes a signed export of the audit head every "
                                  "hour (storage this host cannot rewrite); empty: off, use `bastion audit export-head`.")
    evidence_master_key_file: str = Field("", description="Vault master key file (default <data_dir>-keys/evidence.key, outside the data).")
    evidence_previous_key_files: str = Field("", description="Older master key files still needed to read evidence.")
    evidence_store_url: str = Field("", description="fsspec URL of the evidence store (default <data_dir>/vault).")
    evidence_chunk_bytes: int = Field(1 << 20, ge=1 << 10, le=64 << 20, description="Unit of encryption when the "
                                      "vault streams (bytes): memory per stream is about two of these.")
    mail_backend: str = Field("sink", pattern="^(sink|smtp|off)$", description="sink (files in data_dir), smtp or off.")
    mail_from: str = Field("", description="From address of Bastion's mail.")
    mail_sink_dir: str = Field("", description="Where the sink writes .eml files (default <data_dir>/mail-sink).")
    smtp_host: str = Field("", description="SMTP relay host (mail_backend=smtp).")
    smtp_port: int = Field(587, description="SMTP relay port.")
    smtp_security: str = Field("starttls", pattern="^(starttls|tls|none)$", description="starttls, tls or none.")
    smtp_username: str = Field("", description="SMTP login.")
    smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    smtp_timeout_seconds: float = Field(30.0, gt=0, description="Time limit for one SMTP conversation.")
    production_signing_key_file: str = Field("", description="Ed25519 key signing productions (default in data_dir).")
    ncmec_username: str = Field("", description="CyberTipline API user (empty: reporting not configured).")
    ncmec_password: SecretStr | None = Field(None, description="CyberTipline API password.")
    ncmec_environment: str = Field("test", pattern="^(test|production)$", description="NCMEC environment.")
    ncmec_base_url: str = Field("", description="CyberTipline API base URL (default: the environment's).")
    ncmec_lease_seconds: int = Field(
        1800, ge=1, description="How long a worker holds a CyberTipline report it is filing (renewed at every call, "
        "so it must outlast the slowest single call, a large upload). A worker killed mid-filing delays the report "
        "by about this much before the report's sweeper timer has another worker take it over.")
    dsa_tdb_url: str = Field("", description="DSA Transparency Database host, e.g. the sandbox's (empty: statements are stored, not sent).")
    dsa_tdb_token: SecretStr | None = Field(None, description="DSA Transparency Database API token (Bearer).")
    index_refresh_seconds: float = Field(1.0, ge=0, description="How stale the in-memory PDQ index may get before a lookup refreshes it.")
    hma_strict: bool = Field(
        False, description="HMA API: answer exactly as HMA does for every caller (only `hma_strict_signal_types`, "
                           "HMA's image conversion, upright matching only); per key: the `hma.strict_keys` setting.")
    hma_strict_signal_types: str = Field(
        "pdq,video_md5", description="HMA API in strict mode: the signal types offered (HMA's default set).")
    hma_index_stale_seconds: float = Field(
        65.0, ge=0, description="GET /status answers 503 INDEX-STALE when the PDQ index lags a bank change by "
                                "longer than this (HMA's INDEX_CACHE_MAX_STALE_SEC); 0 turns the check off.")
    snapshot_url: str = Field(
        "", description="Where PDQ index snapshots are published: a directory, or s3://bucket/prefix (any S3-compatible "
        "store, through fsspec); empty: <data_dir>/index.")
    snapshot_endpoint_url: str = Field("", description="S3-compatible store's endpoint (empty: AWS); credentials come "
                                       "from the usual AWS_* variables or the machine's role.")
    snapshot_cache_dir: str = Field("", description="Where a remote snapshot is downloaded and memory-mapped (default "
                                    "<data_dir>/index/cache).")
    snapshot_check_seconds: float = Field(30.0, ge=0, description="How often each process looks for a newer snapshot.")
    broker_url: str = Field("", description="Celery broker (amqp://… or redis://…); empty: tasks run in `bastion serve`.")
    broker_max_tries: int = Field(5, ge=1, description="Deliveries of one task message before its work is dead-lettered.")
    broker_visibility_timeout_seconds: int = Field(
        3600, ge=1, description="Redis broker: how long an unacknowledged message waits before redelivery (> longest task).")
    scan_queue_max_depth: int = Field(10_000, ge=1, description="Unfinished asynchronous scans past which the API answers 429.")
    scan_batch_max_items: int = Field(500, ge=1, description="Most items in one asynchronous scan batch (larger: 413).")
    scan_webhook_url: str = Field("", description="Where asynchronous scan results are POSTed (signed); empty: poll only.")
    scan_webhook_secret: SecretStr | None = Field(None, description="HMAC secret signing scan webhooks (default: platform_secret).")
    metrics_allowed_networks: str = Field(
        "", description="Comma-separated addresses or CIDRs that may read /metrics without an API key (e.g. the "
        "Prometheus host); empty: only API keys with the metrics.read scope.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("BASTION_CONFIG_FILE")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'bastion.db').as_posix()}"

    @property
    def index_snapshot_path(self) -> Path:
        """Where the PDQ index snapshot lives: every server of this data directory starts from it."""
        return self.data_dir / "index" / "pdq.snapshot"

    @property
    def snapshot_cache_path(self) -> Path:
        """Where a remote snapshot is downloaded before it is memory-mapped (local disk, one per machine)."""
        return Path(self.snapshot_cache_dir) if self.snapshot_cache_dir else self.data_dir / "index" / "cache"

    def secret_key_bytes(self) -> bytes:
        """The instance secret; created once in `data_dir/secret.key` when not configured."""
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value().encode()
        path = self.data_dir / "secret.key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(os.urandom(32).hex())
        return path.read_text().strip().encode()


def masked_settings(settings: Settings) -> dict[str, Any]:
    """Effective settings as plain values, secrets masked and passwords in URLs hidden."""
    shown: dict[str, Any] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = MASK if value.get_secret_value() else "(empty)"
        elif value is None:
            value = "(not set)"
        elif isinstance(value, Path):
            value = str(value)
        elif isinstance(value, str):
            value = _URL_CREDENTIALS.sub(r"\1***@", value)  # any URL setting: platform, broker, store, …
        shown[name] = value
    shown["database_url"] = mask_url(settings.effective_database_url)
    return shown


#: `scheme://user:password@` or `scheme://token@`: what a URL may carry that must not be shown.
_URL_CREDENTIALS = re.compile(r"(\w[\w+.-]*://)[^/@\s]+@")


def mask_url(url: str) -> str:
    """Hide the password part of a database URL."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: show nothing of it that could be secret
        return url.split("@")[-1]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings, read once."""
    return Settings()
