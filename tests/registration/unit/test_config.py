"""The registration service's own settings and their defaults."""

from __future__ import annotations

from pathlib import Path

from services.registration import config


def test_defaults_are_the_documented_ones(tmp_path):
    options = config.options(config.load({"SSCARD_VAR_DIR": str(tmp_path)}))
    assert options.access_token_ttl_seconds == 900
    assert options.service_token_ttl_seconds == 300
    assert options.jwt_keys_dir == tmp_path / "keys" / "registration-jwt"
    assert (options.login_failure_limit, options.login_failure_window_seconds) == (5, 900)
    assert (options.argon2_time_cost, options.argon2_memory_kib) == (3, 65536)
    assert (options.code_ttl_seconds, options.code_max_attempts) == (300, 5)
    assert options.code_resend_seconds == 60
    assert options.address_limit_per_hour == 20
    assert options.trusted_proxy_hops == 0


def test_the_key_ring_may_be_a_mounted_secret_and_the_ttl_a_setting(tmp_path):
    options = config.options(
        config.load(
            {
                "SSCARD_VAR_DIR": str(tmp_path),
                "REGISTRATION_JWT_KEYS_DIR": "/run/secrets/registration-jwt",
                "REGISTRATION_ACCESS_TOKEN_TTL_SECONDS": "300",
            }
        )
    )
    assert options.jwt_keys_dir == Path("/run/secrets/registration-jwt")
    assert options.access_token_ttl_seconds == 300
