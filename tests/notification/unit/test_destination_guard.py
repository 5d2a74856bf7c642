"""The SSRF guard: webhooks go to public http(s) addresses only, unless the deployment allows
private ones — checked when subscribing and again when connecting."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import urllib3

from services.notification.adapters.outbound import (
    DestinationGuard,
    describe_failure,
    guarded_pool_manager,
    refusal_reason,
)
from shared.errors import InvalidInput


def resolver_to(*addresses: str):
    def resolve(host, port, type=0):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    return resolve


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("169.254.169.254", "link-local"),
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.9", "private"),
        ("192.168.1.10", "private"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 — an address under test
        ("224.0.0.251", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "not a public"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fd00::1", "private"),
        ("::ffff:127.0.0.1", "loopback"),
    ],
)
def test_internal_addresses_are_refused_with_the_reason(address, kind):
    assert kind in refusal_reason(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700:4700::1111", "8.8.8.8"])
def test_public_addresses_pass(address):
    assert refusal_reason(address) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://10.0.0.8/hook",
        "https://192.168.1.20:8443/hook",
        "http://127.0.0.1:9000/",
        "http://[::1]/hook",
        "http://localhost/hook",
    ],
)
def test_by_default_metadata_loopback_and_private_urls_are_refused(url):
    guard = DestinationGuard(allow_private=False)
    with pytest.raises(InvalidInput) as error:
        guard.check_url(url)
    assert "Not an allowed destination" in error.value.errors["url"][0]


def test_a_name_resolving_to_a_private_address_is_refused():
    guard = DestinationGuard(allow_private=False, resolver=resolver_to("93.184.216.34", "10.0.0.5"))
    with pytest.raises(InvalidInput):
        guard.check_url("https://hooks.example.com/sscard")
    public = DestinationGuard(allow_private=False, resolver=resolver_to("93.184.216.34"))
    assert (
        public.check_url("https://hooks.example.com/sscard") == "https://hooks.example.com/sscard"
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/x", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("gopher://127.0.0.1:6379/_INFO", "http:// or https://"),
        ("http://user:pw@example.com/", "Credentials"),
        ("http:///nohost", "no host"),
        ("http://example.com:99999/", "Not a valid URL"),
    ],
)
def test_only_plain_http_and_https_urls_are_accepted(url, message):
    guard = DestinationGuard(allow_private=True, resolver=resolver_to("93.184.216.34"))
    with pytest.raises(InvalidInput) as error:
        guard.check_url(url)
    assert message in error.value.errors["url"][0]


def test_private_addresses_are_allowed_when_the_setting_says_so():
    assert DestinationGuard(allow_private=True).check_url("http://127.0.0.1:9/x")


@pytest.fixture
def local_server():
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            hits.append(self.path)
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def test_the_check_is_repeated_on_every_connection(local_server):
    """A name that resolved to a public address at subscription time and to a private one now
    (DNS rebinding) is refused at connect time: nothing reaches the private address."""
    url, hits = local_server
    port = url.rsplit(":", 1)[1]
    rebinding = DestinationGuard(allow_private=False, resolver=resolver_to("127.0.0.1"))
    with pytest.raises(urllib3.exceptions.NewConnectionError) as error:
        guarded_pool_manager(rebinding).request(
            "POST", f"http://hooks.example.com:{port}/x", body=b"{}", timeout=2
        )
    assert (
        describe_failure(error.value)
        == "refused to call hooks.example.com: 127.0.0.1 is a loopback address"
    )
    assert hits == []


def test_redirects_are_not_followed(local_server):
    url, hits = local_server
    manager = guarded_pool_manager(DestinationGuard(allow_private=True))
    response = manager.request("POST", url + "/hook", body=b"{}", timeout=2, redirect=False)
    assert response.status == 302
    assert hits == ["/hook"]
