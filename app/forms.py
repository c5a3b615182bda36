"""Small helpers shared by the WTForms forms of several areas."""

from __future__ import annotations

from collections.abc import Iterable

from wtforms.fields.choices import SelectChoice


def choice_list(pairs: Iterable[tuple[object, str]]) -> list[SelectChoice]:
    """Select options from (value, label) pairs; WTForms 3.3 deprecates bare tuples."""
    return [SelectChoice(str(value), label) for value, label in pairs]
