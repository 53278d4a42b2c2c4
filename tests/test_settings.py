"""Production refuses to start with DEBUG on or a weak secret; `check --deploy` is clean there."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What a deployment sets (README: Security); the rest of the environment is this run's.
PRODUCTION = {
    "WALLET_ENV": "production",
    "DEBUG": "false",
    "ALLOWED_HOSTS": "wallet.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://wallet.example.com",
    "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
}
UNSET = {
    "DEBUG",
    "SECRET_KEY",
    "WALLET_ENV",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "SECURE_PROXY_SSL_HEADER",
}


def environment(**env: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k not in UNSET and not k.startswith("SECURE_")}
    environment.update(env, DJANGO_SETTINGS_MODULE="walletproject.settings")
    return environment


def load_settings(*names: str, **env: str) -> subprocess.CompletedProcess[str]:
    shown = ", ".join(f"settings.{name}" for name in ("DEBUG", *names))
    code = f"import django; django.setup(); from django.conf import settings; print({shown})"
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=environment(**env),
        cwd=ROOT,
        timeout=60,
    )


def test_production_refuses_debug():
    result = load_settings(WALLET_ENV="production", DEBUG="true", SECRET_KEY=secrets.token_urlsafe(50))
    assert result.returncode != 0
    assert "DEBUG must be off" in result.stderr


def test_production_refuses_the_development_secret():
    result = load_settings(WALLET_ENV="production", DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_a_weak_secret():
    for weak in ("s" * 60, secrets.token_urlsafe(30)[:40]):
        result = load_settings(WALLET_ENV="production", DEBUG="false", SECRET_KEY=weak)
        assert result.returncode != 0
        assert "SECRET_KEY" in result.stderr


def test_production_starts_with_a_real_secret_and_debug_off():
    result = load_settings(WALLET_ENV="production", DEBUG="false", SECRET_KEY=secrets.token_urlsafe(50))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_development_defaults_keep_debug_off():
    result = load_settings(WALLET_ENV="development")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_production_is_https_only_and_development_is_not():
    names = ("SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE")
    production = load_settings(*names, **PRODUCTION, SECRET_KEY=secrets.token_urlsafe(50))
    assert production.returncode == 0, production.stderr
    assert production.stdout.split() == ["False", "True", "31536000", "True", "True"]
    development = load_settings(*names, WALLET_ENV="development")
    assert development.stdout.split() == ["False", "False", "0", "False", "False"]


def test_a_malformed_proxy_ssl_header_is_refused():
    result = load_settings(WALLET_ENV="development", SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO")
    assert result.returncode != 0
    assert "SECURE_PROXY_SSL_HEADER" in result.stderr


def test_a_relay_promise_is_cut_to_the_linger_and_never_negative():
    """A retried task's linger must cover a promise its failed run left (kafka_bridge/tasks.py)."""
    cut = load_settings(
        "OUTBOX_RELAY_PROMISE_SECONDS", OUTBOX_LINGER_SECONDS="0", OUTBOX_RELAY_PROMISE_SECONDS="0.5"
    )
    assert cut.returncode == 0, cut.stderr
    assert cut.stdout.split() == ["False", "0.0"]
    kept = load_settings("OUTBOX_RELAY_PROMISE_SECONDS", OUTBOX_RELAY_PROMISE_SECONDS="0.8")
    assert kept.returncode == 0, kept.stderr
    assert kept.stdout.split() == ["False", "0.8"]
    refused = load_settings(OUTBOX_RELAY_PROMISE_SECONDS="-1")
    assert refused.returncode != 0
    assert "OUTBOX_RELAY_PROMISE_SECONDS" in refused.stderr


def check_deploy(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        capture_output=True,
        text=True,
        env=environment(**env),
        cwd=ROOT,
        timeout=120,
    )


def test_check_deploy_is_clean_in_production():
    result = check_deploy(**PRODUCTION, SECRET_KEY=secrets.token_urlsafe(50))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_fails_in_development():
    """The check is not vacuous: the development settings (no HSTS, no secure cookies) fail it."""
    result = check_deploy(WALLET_ENV="development", SECRET_KEY=secrets.token_urlsafe(50))
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr, result.stderr


def test_https_redirect_spares_the_health_probes_and_headers_are_sent(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    health = client.get("/health")
    assert health.status_code == 200, "load balancers probe in plain HTTP"
    redirected = client.get("/users/alice/wallets")
    assert redirected.status_code == 301
    assert redirected["Location"] == "https://testserver/users/alice/wallets"
    over_tls = client.get("/health", secure=True)
    assert over_tls["Strict-Transport-Security"] == "max-age=3600"
    for response in (health, over_tls):
        assert response["X-Frame-Options"] == "DENY"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in health, "HSTS only over HTTPS"
