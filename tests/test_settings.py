"""Production refuses to start with DEBUG on or the development secret."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_settings(**env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "WALLET_ENV"}}
    environment.update(env, DJANGO_SETTINGS_MODULE="walletproject.settings")
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment, cwd=ROOT, timeout=60
    )


def test_production_refuses_debug():
    result = load_settings(WALLET_ENV="production", DEBUG="true", SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "DEBUG must be off" in result.stderr


def test_production_refuses_the_development_secret():
    result = load_settings(WALLET_ENV="production", DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_starts_with_a_real_secret_and_debug_off():
    result = load_settings(WALLET_ENV="production", DEBUG="false", SECRET_KEY="s" * 50)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_development_defaults_keep_debug_off():
    result = load_settings(WALLET_ENV="development")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
