"""Small helpers shared by the WTForms forms of several areas."""

from __future__ import annotations

from collections.abc import Iterable

from flask_wtf import FlaskForm

# types-WTForms describes WTForms 3.2; SelectChoice is new in 3.3 (the stubs lack it).
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]


class Form(FlaskForm):
    """Every page form: CSRF from Flask-WTF, WTForms' own Chinese messages ("不是有效的整数。")
    rather than English ones."""

    class Meta:
        locales = ("zh",)


def choice_list(pairs: Iterable[tuple[object, str]]) -> list[SelectChoice]:
    """Select options from (value, label) pairs; WTForms 3.3 deprecates bare tuples."""
    return [SelectChoice(str(value), label) for value, label in pairs]
