"""The README stays short and its links stay inside the clone (issue #35): every relative link names
a file of the repository, every anchor a heading of its page. The pages under docs/ are checked by
`mkdocs build --strict` (`make docs`, run by .ci/run)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import ROOT

README = ROOT / "README.md"
LINK = re.compile(r"\[[^\]]+\]\(([^)\s]+)\)")


def anchors(page: Path) -> set[str]:
    """GitHub's and MkDocs' heading ids: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(), re.M)
    return {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in headings}


def test_the_readme_is_at_most_400_lines():
    assert len(README.read_text().splitlines()) <= 400


def test_every_readme_link_resolves_inside_the_repository():
    broken = []
    for target in LINK.findall(README.read_text()):
        if re.match(r"^[a-z]+://", target):
            if not target.startswith("http://127.0.0.1"):
                broken.append(f"{target}: a link off this machine")
            continue
        path, _, anchor = target.partition("#")
        page = (README.parent / path).resolve() if path else README
        if not page.is_file() or ROOT not in page.parents:
            broken.append(f"{target}: no such file in the repository")
        elif anchor and anchor not in anchors(page):
            broken.append(f"{target}: no heading #{anchor} in {page.name}")
    assert broken == []
