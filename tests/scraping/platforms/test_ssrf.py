import httpx
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
        ("http://127.0.0.1/", "loopback"),
        ("http://127.0.0.2:8000/", "loopback"),
        ("http://localhost:6379/", "loopback"),
        ("http://10.0.0.1/", "private"),
        ("http://172.16.5.4/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://169.254.10.10/", "link-local"),
        ("http://[fd00:ec2::254]/", "metadata"),
        ("http://[::1]/", "loopback"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[fc00::1]/", "private"),
        ("http://[::ffff:127.0.0.1]/", "loopback address (written as IPv6)"),
        ("http://[::ffff:169.254.169.254]/", "metadata address (written as IPv6)"),
        ("http://[::ffff:a9fe:a9fe]/", "metadata address (written as IPv6)"),
        ("http://[64:ff9b::a9fe:a9fe]/", "metadata address (written as IPv6)"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://[::]/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://240.0.0.1/", "reserved"),
        ("http://100.64.0.1/", "carrier-grade NAT"),
        ("http://2130706433/", "loopback"),  # 127.0.0.1 as a decimal number
    ],
)
def test_internal_addresses_are_refused_with_the_reason(url, reason):
    with pytest.raises(BlockedURLError) as caught:
        check_url(url)
    assert reason in caught.value.message
    assert "PULSE_SSRF_ALLOW" in caught.value.message


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://example.com/", "javascript:alert(1)"])
def test_only_http_and_https_are_fetched(url):
    with pytest.raises(BlockedURLError, match="only http and https"):
        check_url(url)


def test_a_url_without_a_host_is_refused():
    with pytest.raises(BlockedURLError, match="names no host"):
        check_url("http:///path")


def test_a_public_address_is_allowed():
    check_url("https://93.184.215.14/")
    check_url("http://[2606:4700:4700::1111]/")


def test_the_allow_list_accepts_cidrs_hosts_and_host_port_pairs(settings):
    settings.PULSE_SSRF_ALLOW = ["10.0.0.0/8", "intranet.local", "127.0.0.1:8080"]
    check_url("http://10.20.30.40/")
    check_url("http://127.0.0.1:8080/feed")
    with pytest.raises(BlockedURLError):
        check_url("http://127.0.0.1:8081/feed")  # another port of an allowed host
    with pytest.raises(BlockedURLError):
        check_url("http://192.168.0.1/")


def test_the_simulator_url_allows_exactly_its_own_port(settings):
    settings.PULSE_SIMULATOR_URL = "http://127.0.0.1:18999"
    check_url("http://127.0.0.1:18999/news/rss/search?q=x")
    for url in ("http://127.0.0.1:6379/", "http://127.0.0.2:18999/", "http://169.254.169.254/"):
        with pytest.raises(BlockedURLError):
            check_url(url)


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.2:6379/"])
def test_httpx_refuses_a_redirect_from_the_simulator_to_an_internal_address(settings, simulator, target):
    settings.PULSE_SIMULATOR_URL = simulator
    with http_client() as client:
        assert client.get(f"{simulator}/redirect", params={"to": f"{simulator}/"}).status_code == 200
        with pytest.raises(BlockedURLError, match="Refusing"):
            client.get(f"{simulator}/redirect", params={"to": target})


def test_a_redirect_target_on_the_allow_list_is_followed(settings, simulator):
    settings.PULSE_SIMULATOR_URL = simulator
    settings.PULSE_SSRF_ALLOW = ["127.0.0.2"]
    with http_client() as client, pytest.raises(httpx.ConnectError):
        # Allowed by the guard, so httpx really connects (nothing listens on 127.0.0.2:9).
        client.get(f"{simulator}/redirect", params={"to": "http://127.0.0.2:9/"})
