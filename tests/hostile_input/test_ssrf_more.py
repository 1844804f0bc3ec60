"""SSRF cases beyond tests/scraping/platforms/test_ssrf.py: other spellings of internal addresses.

The guard resolves every host and judges the addresses, so these must fall to the same rules; they
are the spellings attackers try first when a guard compares strings.
"""

from __future__ import annotations

import pytest

from scraping.platforms.http import http_client
from scraping.platforms.ssrf import BlockedURLError, check_url


@pytest.fixture(autouse=True)
def no_allowances(settings):
    settings.PULSE_SSRF_ALLOW = []
    settings.PULSE_SIMULATOR_URL = ""


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://0x7f000001/", "loopback"),  # hexadecimal
        ("http://0177.0.0.1/", "loopback"),  # octal
        ("http://017700000001/", "loopback"),  # octal, one number
        ("http://0x7f.0.0.1/", "loopback"),  # mixed
        ("http://127.1/", "loopback"),  # short form
        ("http://0/", "unspecified"),
        ("http://[::127.0.0.1]/", "loopback"),  # IPv4-compatible IPv6
        ("http://[0:0:0:0:0:ffff:127.0.0.1]/", "loopback"),  # IPv4-mapped, long form
        ("http://[::ffff:7f00:1]/", "loopback"),  # IPv4-mapped, hexadecimal
        ("http://[::ffff:10.0.0.1]/", "private"),
        ("http://[2002:7f00:1::]/", "loopback"),  # 6to4 wrapping 127.0.0.1
        ("http://[2002:a9fe:a9fe::]/", "metadata"),  # 6to4 wrapping 169.254.169.254
        ("http://[fe80::1%25eth0]/", "link-local"),  # with a zone id
        ("http://100.100.100.200/", "metadata"),  # Alibaba Cloud metadata
        ("http://example.com@127.0.0.1/", "loopback"),  # user-info in front of the real host
        ("HTTP://127.0.0.1:6379/", "loopback"),  # upper-case scheme, Redis port
    ],
)
def test_other_spellings_of_internal_addresses_are_refused(url, reason):
    with pytest.raises(BlockedURLError) as caught:
        check_url(url)
    assert reason in caught.value.message, caught.value.message


@pytest.mark.parametrize("status", ["301", "303", "307", "308"])
def test_every_redirect_status_into_an_internal_address_is_refused(settings, simulator, status):
    settings.PULSE_SIMULATOR_URL = simulator
    with http_client() as client, pytest.raises(BlockedURLError, match="Refusing"):
        client.get(f"{simulator}/redirect", params={"to": "http://169.254.169.254/latest/", "status": status})


def test_a_redirect_chain_that_ends_inside_is_refused_at_the_internal_hop(settings, simulator):
    settings.PULSE_SIMULATOR_URL = simulator
    inner = f"{simulator}/redirect?to=http://[::ffff:127.0.0.1]:6379/"
    with http_client() as client, pytest.raises(BlockedURLError, match="Refusing"):
        client.get(f"{simulator}/redirect", params={"to": inner})
