"""`sscardctl broker …`, `banks …` and `tls …` as an operator runs them, on the real broker."""

from __future__ import annotations

import re
import ssl

import pika
import pytest
from cryptography import x509

from shared.testing.infrastructure import vhost_user_prefix
from sscardctl.broker import read_env_file
from tests.sscardctl.test_cli import sscardctl


def test_onboard_prints_the_password_once_and_it_works_only_for_that_bank(fresh_broker_url):
    env = {
        "AMQP_URL": fresh_broker_url,
        "SSCARD_BROKER_USER_PREFIX": vhost_user_prefix(fresh_broker_url),
    }
    result = sscardctl("banks", "onboard", "ICBC", **env)
    assert result.returncode == 0, result.stderr
    user = re.search(r"broker user: (\S+)", result.stdout)[1]
    password = re.search(r"password:\s+(\S+)", result.stdout)[1]
    assert user == vhost_user_prefix(fresh_broker_url) + "bank-ICBC"
    assert len(password) >= 24
    assert "print.ICBC" in result.stdout and "bank.ICBC.<status>" in result.stdout
    url = fresh_broker_url.replace("guest:guest", f"{user}:{password}")
    pika.BlockingConnection(pika.URLParameters(url)).close()

    assert sscardctl("banks", "offboard", "ICBC", **env).returncode == 0
    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        pika.BlockingConnection(pika.URLParameters(url))
    gone = sscardctl("banks", "offboard", "ICBC", **env)
    assert gone.returncode == 1 and "has no broker user" in gone.stderr


def test_a_bank_code_that_breaks_the_rule_is_refused():
    for code in ("icbc", "ICBC.*", "I", "#"):
        result = sscardctl("banks", "onboard", code)
        assert result.returncode == 1, code
        assert "is not a bank code" in result.stderr
        assert "Traceback" not in result.stderr


def test_setup_is_idempotent_and_writes_each_processs_url(fresh_broker_url, tmp_path):
    env = {
        "AMQP_URL": fresh_broker_url,
        "SSCARD_BROKER_USER_PREFIX": vhost_user_prefix(fresh_broker_url),
        "SSCARD_VAR_DIR": str(tmp_path / "var"),
    }
    env_file = tmp_path / "broker.env"
    for _ in range(2):
        result = sscardctl("broker", "setup", "--env-file", str(env_file), **env)
        assert result.returncode == 0, result.stderr
    urls = read_env_file(env_file)
    assert sorted(urls) == [
        "APPLICATION_AMQP_URL",
        "NOTIFICATION_AMQP_URL",
        "PRINTING_AMQP_URL",
        "REGISTRATION_AMQP_URL",
        "VERIFICATION_AMQP_URL",
    ]
    assert env_file.stat().st_mode & 0o077 == 0
    for name, url in urls.items():
        service = name.removesuffix("_AMQP_URL").lower()
        assert f"sscard-{service}:" in url
        pika.BlockingConnection(pika.URLParameters(url)).close()


def test_tls_self_signed_makes_a_certificate_the_ca_vouches_for(tmp_path):
    result = sscardctl("tls", "self-signed", str(tmp_path), "--host", "broker.example.org")
    assert result.returncode == 0, result.stderr
    ca = x509.load_pem_x509_certificate((tmp_path / "ca_certificate.pem").read_bytes())
    cert = x509.load_pem_x509_certificate((tmp_path / "server_certificate.pem").read_bytes())
    assert cert.issuer == ca.subject
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["broker.example.org"]
    assert (tmp_path / "server_key.pem").stat().st_mode & 0o077 == 0
    context = ssl.create_default_context(cafile=str(tmp_path / "ca_certificate.pem"))
    context.load_cert_chain(tmp_path / "server_certificate.pem", tmp_path / "server_key.pem")
