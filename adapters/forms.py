"""Scraping HTML forms, for the adapters that drive a site's web pages (FurAffinity, Weasyl):
find a form, read the fields a browser would send, change some and send them back."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from bs4 import BeautifulSoup, Tag


@dataclasses.dataclass
class HtmlForm:
    """A scraped form: its action and the fields a browser would send, in order."""

    action: str
    fields: list[tuple[str, str]]
    names: set[str]

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def value(self, name: str) -> str | None:
        return next((v for n, v in self.fields if n == name), None)

    def with_values(self, changes: Mapping[str, str]) -> list[tuple[str, str]]:
        out = [(n, changes.get(n, v)) for n, v in self.fields]
        out += [(n, v) for n, v in changes.items() if not any(n == f for f, _ in self.fields)]
        return out


def find_form(soup: BeautifulSoup, action: str, ids: tuple[str, ...]) -> HtmlForm | None:
    for form in soup.find_all("form"):
        if action in str(form.get("action") or "") or form.get("id") in ids:
            return read_form(form)
    return None


def read_form(form: Tag) -> HtmlForm:
    fields: list[tuple[str, str]] = []
    names: set[str] = set()
    for element in form.find_all(["input", "select", "textarea"]):
        name = element.get("name")
        if not name:
            continue
        name = str(name)
        names.add(name)
        if element.name == "textarea":
            fields.append((name, element.get_text()))
        elif element.name == "select":
            options = element.find_all("option")
            chosen = [o for o in options if o.has_attr("selected")] or options[:1]
            fields.extend((name, str(o.get("value", o.get_text()))) for o in chosen)
        else:
            kind = str(element.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "file", "reset"):
                continue
            if kind in ("checkbox", "radio") and not element.has_attr("checked"):
                continue
            fields.append((name, str(element.get("value", "on" if kind == "checkbox" else ""))))
    return HtmlForm(str(form.get("action") or ""), fields, names)


def flag(value: str) -> bool:
    """A yes/no setting as forms and credentials write it: 1, true, yes or on."""
    return value.strip().lower() in ("1", "true", "yes", "on")
