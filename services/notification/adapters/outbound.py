"""Outbound HTTP to addresses integrators chose, which must not become a way into our own
network (SSRF): only http(s), and never a loopback, private, link-local (cloud metadata at
169.254.169.254), multicast, reserved or unspecified address unless the deployment allows it
(`WEBHOOK_ALLOW_PRIVATE`, on for a laptop and for tests with local receivers).

The check runs when a subscription is created and again on every connection: the sessions
made here resolve the host themselves, refuse the request if any address is forbidden, and
connect to the checked address, so a name that resolves differently the second time (DNS
rebinding) gains nothing. Redirects are never followed and proxies from the environment are
ignored.
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.parse
from collections.abc import Callable

import urllib3
from urllib3 import connection as urllib3_connection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NewConnectionError,
    ReadTimeoutError,
)

from shared.errors import InvalidInput

Resolver = Callable[..., list]
SCHEMES = ("http", "https")
USER_AGENT = "sscard-webhooks/1"


class RefusedDestination(NewConnectionError):
    """A connection the guard would not open."""

    def __init__(self, conn, detail: str) -> None:
        super().__init__(conn, detail)
        self.detail = detail


def refusal_reason(address: str) -> str | None:
    """Why an IP address may not be called, or None when it is a public address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for label, flag in (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
    ):
        if flag:
            return f"{ip} is a {label} address"
    if not ip.is_global:
        return f"{ip} is not a public address"
    return None


class DestinationGuard:
    def __init__(self, *, allow_private: bool, resolver: Resolver = socket.getaddrinfo) -> None:
        self.allow_private = allow_private
        self.resolver = resolver

    def addresses(self, host: str, port: int) -> list[str]:
        """The host's addresses, all of them allowed; OSError or RefusedDestination else."""
        infos = self.resolver(host, port, type=socket.SOCK_STREAM)
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        if not addresses:
            raise OSError(f"{host} has no addresses")
        if not self.allow_private:
            for address in addresses:
                reason = refusal_reason(address)
                if reason:
                    raise RefusedDestination(None, f"refused to call {host}: {reason}")
        return addresses

    def check_url(self, url: str) -> str:
        """The URL, normalised, or InvalidInput saying why it may not be a webhook endpoint."""

        def invalid(message: str) -> InvalidInput:
            return InvalidInput(message, errors={"url": [message]})

        if len(url) > 2000:
            raise invalid("The URL is longer than 2000 characters.")
        try:
            parts = urllib.parse.urlsplit(url.strip())
            port = parts.port
        except ValueError:
            raise invalid("Not a valid URL.") from None
        if parts.scheme not in SCHEMES:
            raise invalid("The URL must start with http:// or https://.")
        if not parts.hostname:
            raise invalid("The URL has no host.")
        if parts.username or parts.password:
            raise invalid("Credentials in the URL are not allowed; verify signatures instead.")
        if parts.fragment:
            raise invalid("The URL must not have a fragment.")
        try:
            self.addresses(parts.hostname, port or (443 if parts.scheme == "https" else 80))
        except RefusedDestination as exc:
            raise invalid(f"Not an allowed destination: {exc.detail}.") from None
        except (OSError, UnicodeError):
            raise invalid(f"The host {parts.hostname} does not resolve.") from None
        return urllib.parse.urlunsplit(parts)


def _guarded_connection(base: type, guard: DestinationGuard) -> type:
    class GuardedConnection(base):
        def _new_conn(self) -> socket.socket:
            try:
                addresses = guard.addresses(self._dns_host, self.port)
            except RefusedDestination as exc:
                raise RefusedDestination(self, exc.detail) from None
            except OSError as exc:
                raise NewConnectionError(self, f"cannot resolve {self._dns_host}: {exc}") from exc
            last_error: OSError | None = None
            for address in addresses:
                try:
                    return urllib3_connection.connection.create_connection(
                        (address, self.port),
                        self.timeout,
                        source_address=self.source_address,
                        socket_options=self.socket_options,
                    )
                except TimeoutError as exc:
                    raise ConnectTimeoutError(
                        self, f"connection to {self.host} timed out ({self.timeout}s)"
                    ) from exc
                except OSError as exc:
                    last_error = exc
            raise NewConnectionError(self, f"failed to connect to {self.host}: {last_error}")

    return GuardedConnection


def guarded_pool_manager(guard: DestinationGuard, *, maxsize: int = 4) -> urllib3.PoolManager:
    """A connection pool for calling integrators' endpoints: every new connection goes through
    the guard; no redirects, no retries (the dispatcher schedules its own), no proxies.
    urllib3 directly rather than requests: it costs a third of the CPU per request, which is
    what bounds a dispatcher's deliveries per second."""
    manager = urllib3.PoolManager(
        num_pools=256,
        maxsize=maxsize,
        block=False,
        retries=False,
        headers={"User-Agent": USER_AGENT},
    )
    manager.pool_classes_by_scheme = {
        "http": type(
            "GuardedPool",
            (HTTPConnectionPool,),
            {"ConnectionCls": _guarded_connection(urllib3_connection.HTTPConnection, guard)},
        ),
        "https": type(
            "GuardedSecurePool",
            (HTTPSConnectionPool,),
            {"ConnectionCls": _guarded_connection(urllib3_connection.HTTPSConnection, guard)},
        ),
    }
    return manager


def describe_failure(exc: BaseException) -> str:
    """A short, stable description of why a request failed, for the attempt record."""
    reason: BaseException | None = exc
    while isinstance(reason, MaxRetryError) and reason.reason is not None:
        reason = reason.reason
    if isinstance(reason, RefusedDestination):
        return reason.detail
    if isinstance(reason, ConnectTimeoutError):
        return "timeout: connect"
    if isinstance(reason, ReadTimeoutError | TimeoutError):
        return "timeout: read"
    if isinstance(reason, NewConnectionError):
        return "connection failed: " + str(reason).split(": ", 1)[-1][:300]
    return f"{type(reason).__name__}: {reason}"[:500]
