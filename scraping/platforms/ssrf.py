"""Refuse requests that would reach inside the network (SSRF guard).

Pulse fetches URLs that people configure (web pages, feeds), and pages can redirect anywhere, so
every request — the first and each redirect, from httpx or from Chromium — is checked here:

1. only ``http`` and ``https``;
2. the host is resolved and *every* address must be public: private, loopback, link-local,
   multicast, reserved, unspecified, shared (CGNAT) and cloud-metadata addresses are refused,
   including IPv4 written inside IPv6 (``::ffff:127.0.0.1``, NAT64, 6to4);
3. unless the host, ``host:port`` or a CIDR holding the address is in ``PULSE_SSRF_ALLOW``. The
   simulator's own ``host:port`` is allowed while ``PULSE_SIMULATOR_URL`` is set — only that
   port, so a redirect from the simulator to another local service is still refused.

Known limit: the name is resolved again by the HTTP client or Chromium after this check, so a DNS
server that answers differently within milliseconds (DNS rebinding) is not covered.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from scraping.platforms.base import PermanentScraperError

METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack
    ipaddress.ip_address("fd00:ec2::254"),  # AWS IMDS over IPv6
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
}
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedURLError(PermanentScraperError):
    """The URL points somewhere Pulse must not fetch; retrying will not help."""


def _embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    # IPv4-compatible (deprecated ::a.b.c.d) forms.
    if int(address) >> 32 == 0 and int(address) > 0xFFFF:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_problem(address: Address) -> str | None:
    """Why ``address`` is not public, or None when it is."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        problem = address_problem(embedded)
        return f"{problem} (written as IPv6)" if problem else None
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    for attribute, label in (
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_unspecified", "an unspecified address"),
        ("is_reserved", "a reserved address"),
        ("is_private", "a private address"),
    ):
        if getattr(address, attribute):
            return label
    if isinstance(address, ipaddress.IPv4Address) and address in SHARED_ADDRESS_SPACE:
        return "a shared (carrier-grade NAT) address"
    if not address.is_global:
        return "not a public address"
    return None


def allow_list() -> list[str]:
    entries = [entry.strip().lower() for entry in getattr(settings, "PULSE_SSRF_ALLOW", []) if entry.strip()]
    simulator = (getattr(settings, "PULSE_SIMULATOR_URL", "") or "").strip()
    if simulator:
        parts = urlsplit(simulator)
        if parts.hostname:
            entries.append(f"{parts.hostname.lower()}:{parts.port or (443 if parts.scheme == 'https' else 80)}")
    return entries


def _allowed(host: str, port: int, addresses: list[Address]) -> bool:
    """True when every address is covered by an allow-list entry (by name, host:port or CIDR)."""
    host = host.lower().strip("[]")
    covered = set()
    for entry in allow_list():
        name, _, entry_port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        if entry_port and not entry_port.isdigit():
            name, entry_port = entry, ""
        if entry_port and int(entry_port) != port:
            continue
        name = name.strip("[]")
        if name == host:
            return True
        try:
            network = ipaddress.ip_network(name, strict=False)
        except ValueError:
            continue
        covered.update(address for address in addresses if address in network)
    return bool(addresses) and covered == set(addresses)


def resolve(host: str, port: int) -> list[Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        from scraping.platforms.base import TransientScraperError

        raise TransientScraperError(f"Cannot resolve {host}: {error.strerror or error}.") from None
    addresses = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def check_url(url: str) -> None:
    """Raise ``BlockedURLError`` unless ``url`` may be fetched (see the module docstring)."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise BlockedURLError(f"Refusing {url!r}: not a valid URL ({error}).") from None
    if parts.scheme not in ("http", "https"):
        raise BlockedURLError(f"Refusing {url!r}: only http and https URLs are fetched, not {parts.scheme or 'none'!r}.")
    host = parts.hostname
    if not host:
        raise BlockedURLError(f"Refusing {url!r}: it names no host.")
    addresses = resolve(host, port)
    if _allowed(host, port, addresses):
        return
    for address in addresses:
        problem = address_problem(address)
        if problem:
            raise BlockedURLError(
                f"Refusing {url!r}: {host} resolves to {address}, {problem}. Pulse does not fetch internal "
                f"addresses; if this host is meant to be scraped, add it to PULSE_SSRF_ALLOW "
                f"(a host, host:port or CIDR)."
            )


def httpx_request_hook(request) -> None:
    """httpx event hook: runs before the first request and before every redirect."""
    check_url(str(request.url))
