"""Reading the forms of a page the way a browser would: action, method, and every named field with
the value the page gives it (the first option of a select, a checkbox's value)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class PageForm:
    action: str
    method: str
    enctype: str
    fields: dict[str, str] = field(default_factory=dict)
    files: set[str] = field(default_factory=set)


class _FormParser(HTMLParser):
    def __init__(self, page_url: str) -> None:
        super().__init__()
        self.page_url = page_url
        self.forms: list[PageForm] = []
        self.current: PageForm | None = None
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.current = PageForm(
                a.get("action") or self.page_url,
                (a.get("method") or "get").lower(),
                a.get("enctype") or "application/x-www-form-urlencoded",
            )
            self.forms.append(self.current)
        elif self.current is None or not a.get("name"):
            return
        elif tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind == "file":
                self.current.files.add(a["name"])
            elif kind in ("checkbox", "radio"):
                if "checked" in a or a["name"] not in self.current.fields:
                    self.current.fields[a["name"]] = a.get("value") or "on"
            elif kind not in ("submit", "button", "reset", "image"):
                self.current.fields[a["name"]] = a.get("value", "")
        elif tag == "select":
            self.select = a["name"]
        elif tag == "option" and self.select and self.select not in self.current.fields:
            self.current.fields[self.select] = a.get("value", "")
        elif tag == "textarea":
            self.textarea = a["name"]
            self.current.fields[a["name"]] = ""
        elif tag == "button" and a.get("value"):
            self.current.fields.setdefault(a["name"], a["value"])

    def handle_data(self, data: str) -> None:
        if self.current is not None and self.textarea:
            self.current.fields[self.textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.current = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def forms_of(html: str, page_url: str) -> list[PageForm]:
    parser = _FormParser(page_url)
    parser.feed(html)
    return [f for f in parser.forms if f.method == "post"]
