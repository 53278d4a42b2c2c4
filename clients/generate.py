"""Generate the Python client (clients/python) and the OpenAPI document it is made from
(clients/openapi.yaml) from this checkout's `manage.py spectacular`.

    python clients/generate.py [--into DIR]    # make client: DIR is clients/

The generator is a tool, not a dependency of the app: openapi-python-client runs from a virtualenv
of its own (.stack/tools/openapi-python-client, git-ignored), every package of it pinned in
clients/generator-requirements.txt, made here when missing or when the pins change. With --into a
temporary directory, tests/test_client.py compares the result with the committed files: a client
that no longer matches the API fails the test.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CLIENTS = Path(__file__).resolve().parent
ROOT = CLIENTS.parent
TOOL = ROOT / ".stack" / "tools" / "openapi-python-client"
PINS = CLIENTS / "generator-requirements.txt"
CONFIG = CLIENTS / "openapi-python-client.yml"
SCHEMA_NAME = "openapi.yaml"
PACKAGE_DIR = "python"


def tool() -> Path:
    """The generator's virtualenv, made (or remade) from the pins; its bin directory."""
    stamp = TOOL / ".pins-sha256"
    digest = hashlib.sha256(PINS.read_bytes()).hexdigest()
    if not (stamp.exists() and stamp.read_text() == digest):
        shutil.rmtree(TOOL, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(TOOL)], check=True)
        pip = [str(TOOL / "bin" / "pip"), "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, "-r", str(PINS)], check=True)
        stamp.write_text(digest)
    return TOOL / "bin"


def schema(into: Path) -> Path:
    """This checkout's OpenAPI document, as /api/schema/ serves it."""
    path = into / SCHEMA_NAME
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "walletproject.settings"}
    subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn", "--file", str(path)],
        cwd=ROOT,
        env=env,
        check=True,
    )
    return path


def generate(into: Path) -> None:
    """clients/openapi.yaml and clients/python/ written into `into` (replacing what was there)."""
    bin_dir = tool()
    with tempfile.TemporaryDirectory() as work:
        document = schema(Path(work))
        output = Path(work) / PACKAGE_DIR
        env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
        subprocess.run(
            [
                str(bin_dir / "openapi-python-client"),
                "generate",
                "--path",
                str(document),
                "--config",
                str(CONFIG),
                "--meta",
                "setup",  # setup.py: pip builds it with setuptools, no other build backend
                "--fail-on-warning",
                "--output-path",
                str(output),
            ],
            cwd=work,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        shutil.rmtree(output / ".ruff_cache", ignore_errors=True)
        into.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(into / PACKAGE_DIR, ignore_errors=True)
        shutil.copytree(output, into / PACKAGE_DIR)
        shutil.copyfile(document, into / SCHEMA_NAME)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--into", type=Path, default=CLIENTS, help="where openapi.yaml and python/ go")
    generate(parser.parse_args().into.resolve())


if __name__ == "__main__":
    main()
