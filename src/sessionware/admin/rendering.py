"""The admin's HTML: Jinja2 templates (autoescaped) and the static files beside them."""

from __future__ import annotations

from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

__all__ = ["STATIC_TYPES", "Pages", "static_file"]

STATIC_TYPES = {
    "admin.css": "text/css; charset=utf-8",
    "admin.js": "text/javascript; charset=utf-8",
}


class Pages:
    """The admin's Jinja2 templates, autoescaped."""

    def __init__(self) -> None:
        self._templates = Environment(
            loader=PackageLoader("sessionware.admin", "templates"),
            autoescape=select_autoescape(default=True),
        )

    def render(self, template: str, **context: Any) -> str:
        return self._templates.get_template(template).render(**context)


def static_file(name: str) -> tuple[bytes, str] | None:
    """``(content, content type)`` of one of the admin's static files, or None."""
    content_type = STATIC_TYPES.get(name)
    if content_type is None:
        return None
    folder = resources.files("sessionware.admin").joinpath("static")
    return folder.joinpath(name).read_bytes(), content_type
