"""The documentation site: every public name has a docstring that mkdocstrings can
render (it leaves undocumented objects out), every public module is in the API
reference, and every page is in the navigation. ``mkdocs build --strict`` itself
runs in CI (``.ci/run``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import sessionware

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

#: The modules whose ``__all__`` is public API, as rendered in docs/reference/.
PUBLIC_MODULES = (
    "sessionware",
    "sessionware.wsgi",
    "sessionware.asgi",
    "sessionware.cookies",
    "sessionware.core.tokens",
    "sessionware.core.codecs",
    "sessionware.core.visits",
    "sessionware.core.encryption",
    "sessionware.errors",
    "sessionware.listeners",
    "sessionware.metrics",
    "sessionware.otel",
    "sessionware.stores.base",
    "sessionware.stores.registry",
    "sessionware.stores.memory",
    "sessionware.stores.sqlite",
    "sessionware.stores.files",
    "sessionware.stores.dbm",
    "sessionware.stores.sql",
    "sessionware.stores.redis",
    "sessionware.stores.tiered",
    "sessionware.stores.threaded",
    "sessionware.stores.near_cache",
    "sessionware.integrations.starlette",
    "sessionware.integrations.fastapi",
    "sessionware.integrations.flask",
    "sessionware.integrations.django",
    "sessionware.testing",
    "sessionware.admin",
    "sessionware.admin.wsgi",
    "sessionware.admin.asgi",
    "sessionware.admin.django",
    "sessionware.admin.flask",
    "sessionware.importers",
    "sessionware.core.transition",
    "sessionware.core.schema",
)


def _checkout_only() -> None:
    if not Path(sessionware.__file__).resolve().is_relative_to(ROOT / "src"):
        pytest.skip("the docs check reads this checkout's src/ and docs/")


@pytest.fixture(scope="module")
def package() -> Any:
    _checkout_only()
    griffe = pytest.importorskip("griffe", reason="the [docs] extra brings griffe")
    return griffe.load("sessionware", search_paths=[str(ROOT / "src")])


def _exports(package: Any, module: str) -> list[tuple[str, Any]]:
    path = module.removeprefix("sessionware").removeprefix(".")
    found = package[path] if path else package
    names = [getattr(name, "name", name) for name in found.exports or ()]
    return [(name, found[name]) for name in names]


def _undocumented(package: Any, module: str) -> list[str]:
    missing = []
    for name, member in _exports(package, module):
        target = member.final_target if member.is_alias else member
        if target.kind.value not in ("class", "function", "module"):
            continue  # constants and type aliases: described by their module
        docstring = target.docstring
        if docstring is None or not docstring.value.strip():
            missing.append(f"{module}.{name}")
    return missing


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_every_public_name_has_a_docstring(package: Any, module: str) -> None:
    assert _undocumented(package, module) == []


def _reference_text() -> str:
    return "\n".join(page.read_text() for page in sorted((DOCS / "reference").glob("*.md")))


@pytest.mark.parametrize("module", [m for m in PUBLIC_MODULES if m != "sessionware"])
def test_every_public_module_is_in_the_api_reference(module: str) -> None:
    _checkout_only()
    assert re.search(rf"^::: {re.escape(module)}$", _reference_text(), re.MULTILINE)


def test_every_root_name_is_in_the_api_reference() -> None:
    _checkout_only()
    text = _reference_text()
    missing = [
        name
        for name in sessionware.__all__
        if name != "wsgi" and f"::: sessionware.{name}\n" not in text
    ]
    assert missing == []


def test_every_page_is_in_the_navigation() -> None:
    _checkout_only()
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = sorted(str(page.relative_to(DOCS)) for page in DOCS.rglob("*.md"))
    assert [page for page in pages if f": {page}\n" not in nav] == []
