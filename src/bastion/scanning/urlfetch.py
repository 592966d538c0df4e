"""Fetching media from a URL without becoming a proxy into the private network (SSRF).

Every connection is checked at the socket: the host name is resolved by us, every
address it resolves to must be public (not private, loopback, link-local, multicast
or reserved) unless configured otherwise, and the connection goes to the checked
address, so DNS rebinding between check and connect is impossible. Redirects are
followed by hand and each hop is checked again; size and time are capped.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from bastion.errors import BastionError

MAX_REDIRECTS = 5


class ForbiddenUrl(BastionError):
    code = "forbidden_url"
    status = 400


class FetchFailed(BastionError):
    code = "fetch_failed"
    status = 400


class FetchTooLarge(BastionError):
    code = "too_large"
    status = 413


@dataclass(frozen=True)
class FetchPolicy:
    """What may be fetched. Empty `allowed_hosts` means any public host."""

    allowed_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(default_factory=tuple)
    max_bytes: int = 50 * 1024 * 1024
    timeout_seconds: float = 10.0

    @classmethod
    def from_settings(cls, hosts: Iterable[str], networks: Iterable[str], max_bytes: int, timeout: float
                      ) -> "FetchPolicy":
        return cls(frozenset(h.lower() for h in hosts if h),
                   tuple(ipaddress.ip_network(n, strict=False) for n in networks if n), max_bytes, timeout)

    def address_allowed(self, address: str) -> bool:
        """Public unicast only, judged on the IPv4 address an IPv6 one carries inside it, if any."""
        try:
            ip = ipaddress.ip_address(address.split("%")[0])
        except ValueError:
            return False
        if any(ip in net for net in self.allowed_networks):
            return True
        return all(a.is_global and not a.is_multicast for a in _meanings(ip))

    def check_url(self, url: str) -> str:
        try:
            parts = urlsplit(url)
            hostname = parts.hostname
            parts.port  # noqa: B018  (raises on a port that is not a number in range)
        except ValueError as exc:
            raise ForbiddenUrl(f"Not a valid URL ({exc}): {url[:200]!r}.") from None
        if parts.scheme not in ("http", "https") or not hostname:
            raise ForbiddenUrl(f"Only http and https URLs with a host can be fetched, not {url[:200]!r}.")
        host = hostname.lower()
        if len(host) > 253 or any(not 0 < len(label) <= 63 for label in host.rstrip(".").split(".")):
            raise ForbiddenUrl(f"Host {host[:200]!r} is not a valid host name (empty or over-long labels).")
        if self.allowed_hosts and host not in self.allowed_hosts:
            raise ForbiddenUrl(f"Host {host!r} is not on the list of hosts Bastion may fetch from.")
        return host


#: IPv6 prefixes that carry an IPv4 address in their last 32 bits (RFC 6052 NAT64, well-known and local).
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
#: The IPv4-compatible block (deprecated, RFC 4291 2.5.5.1): ::a.b.c.d, except :: and ::1.
_V4_COMPATIBLE = ipaddress.ip_network("::/96")


def _meanings(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The address and every IPv4 address it embeds (mapped, compatible, NAT64, 6to4, Teredo).

    `ipaddress` judges 64:ff9b::7f00:1 or 2002:7f00:1:: as global, yet a NAT64 gateway or 6to4
    relay delivers them to 127.0.0.1: each embedded address must pass on its own.
    """
    found: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if ip.ipv4_mapped is not None:
            found.append(ip.ipv4_mapped)
        if ip.sixtofour is not None:
            found.append(ip.sixtofour)
        if ip.teredo is not None:
            found.extend(ip.teredo)
        if ip in _V4_COMPATIBLE or any(ip in net for net in _NAT64):
            found.append(low32)
    return found


class _GuardedBackend(httpcore.SyncBackend):
    """Resolves and checks the address itself, then connects to exactly that address."""

    def __init__(self, policy: FetchPolicy) -> None:
        self._policy = policy

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise FetchFailed(f"Cannot resolve host {host!r}: {exc.strerror}.") from None
        except UnicodeError as exc:  # the IDNA codec refuses the name
            raise ForbiddenUrl(f"Host {host[:200]!r} is not a valid host name: {exc}.") from None
        addresses = [info[4][0] for info in infos]
        refused = [a for a in addresses if not self._policy.address_allowed(a)]
        if refused or not addresses:
            raise ForbiddenUrl(f"Host {host!r} resolves to a private or reserved address ({refused[0] if refused else 'none'}); "
                               "Bastion does not fetch from internal networks.")
        return super().connect_tcp(addresses[0], port, timeout=timeout, local_address=local_address,
                                   socket_options=socket_options)


def _client(policy: FetchPolicy) -> httpx.Client:
    transport = httpx.HTTPTransport()
    # httpx has no public hook for the network backend; the pool is rebuilt with ours.
    transport._pool = httpcore.ConnectionPool(network_backend=_GuardedBackend(policy))  # noqa: SLF001
    return httpx.Client(transport=transport, timeout=policy.timeout_seconds, follow_redirects=False,
                        headers={"User-Agent": "Bastion-media-fetcher/1"})


@dataclass(frozen=True)
class Fetched:
    url: str
    content: bytes
    content_type: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


def fetch(url: str, policy: FetchPolicy, headers: dict[str, str] | None = None, sink: BinaryIO | None = None
          ) -> Fetched:
    """Download `url` under `policy`, re-checking every redirect hop.

    `headers` go with the first request only (credentials must not follow a redirect to
    another host); a 304 answer comes back as a `Fetched` with `status` 304 and no content.
    With `sink`, the body is written there as it arrives (a large list never sits in memory)
    and `content` is empty.
    """
    deadline = time.monotonic() + policy.timeout_seconds
    first = dict(headers or {})
    with _client(policy) as client:
        for _ in range(MAX_REDIRECTS + 1):
            policy.check_url(url)
            try:
                with client.stream("GET", url, headers=first) as response:
                    first = {}
                    if response.is_redirect and response.status_code != 304:  # 304 Not Modified is no redirect
                        url = urljoin(url, response.headers.get("location", ""))
                        continue
                    if response.status_code >= 400:
                        raise FetchFailed(f"The URL answered HTTP {response.status_code}; nothing was scanned.",
                                          http_status=response.status_code)
                    content = b"" if response.status_code == 304 else _read_capped(response, policy, deadline, sink)
                    return Fetched(url, content, response.headers.get("content-type", ""), response.status_code,
                                   {k.lower(): v for k, v in response.headers.items()})
            except (ForbiddenUrl, FetchFailed, FetchTooLarge):
                raise
            except (httpx.InvalidURL, UnicodeError, ValueError) as exc:  # a URL urlsplit took but httpx refuses
                raise ForbiddenUrl(f"Not a valid URL ({exc}): {url[:200]!r}.") from None
            except httpx.HTTPError as exc:
                cause = exc.__context__ if isinstance(exc.__context__, ForbiddenUrl) else None
                if cause is not None:
                    raise cause from None
                raise FetchFailed(f"Could not fetch the URL: {type(exc).__name__}.") from None
    raise FetchFailed(f"More than {MAX_REDIRECTS} redirects; nothing was scanned.")


def _read_capped(response: httpx.Response, policy: FetchPolicy, deadline: float, sink: BinaryIO | None = None
                 ) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > policy.max_bytes:
        raise FetchTooLarge(f"The file is larger than {policy.max_bytes} bytes; nothing was scanned.")
    chunks, total = [], 0
    for chunk in response.iter_bytes():
        total += len(chunk)
        if total > policy.max_bytes:
            raise FetchTooLarge(f"The file is larger than {policy.max_bytes} bytes; nothing was scanned.")
        if time.monotonic() > deadline:
            raise FetchFailed("The download took too long; nothing was scanned.")
        if sink is not None:
            sink.write(chunk)
        else:
            chunks.append(chunk)
    return b"".join(chunks)
