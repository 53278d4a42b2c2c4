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
import re
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


PYPROJECT = """\
# Written by clients/generate.py from the generator's setup.py: the same metadata, declared instead
# of run (a setup.py fails the repository's mypy --strict, which checks this package too).
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "wallet-client"
version = "{version}"
description = "A client library for accessing Wallet API"
readme = "README.md"
requires-python = ">=3.11, <4"
dependencies = [{dependencies}]

[tool.setuptools.packages.find]
include = ["wallet_client*"]

[tool.setuptools.package-data]
wallet_client = ["py.typed"]

"""


def yaml_version(document: Path) -> str:
    """info.version of the document (drf-spectacular writes it as `  version: 1.0.0`)."""
    match = re.search(r"^  version: (\S+)$", document.read_text(), re.M)
    assert match, "the document has no info.version"
    return match.group(1).strip("'\"")


def metadata_as_pyproject(output: Path, version: str) -> None:
    """setup.py's metadata into pyproject.toml, beside the generator's ruff configuration."""
    setup = (output / "setup.py").read_text()
    requires = re.search(r"install_requires=\[(.*?)\]", setup, re.S)
    assert requires, "the generated setup.py names no install_requires"
    ruff = (output / "pyproject.toml").read_text().lstrip()
    (output / "pyproject.toml").write_text(
        PYPROJECT.format(version=version, dependencies=requires.group(1).strip()) + ruff
    )
    (output / "setup.py").unlink()


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
                "setup",  # setuptools: see metadata_as_pyproject
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
        metadata_as_pyproject(output, yaml_version(document))
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
