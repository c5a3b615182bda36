"""Process data as JSON between the engine and the script sandbox (流程数据的传递格式).

Both directions are JSON text with explicit tags for the few types process data holds besides
JSON's own (dates, times, durations, decimals, ids, tuples, dicts whose keys are not text). What
comes back from the sandbox was produced by untrusted code, so it is never unpickled: decoding
only ever builds these plain types.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from workflows.clock import SHANGHAI

TAG = "$t"
# Deeper data is refused rather than walked (the recursion would otherwise be the limit).
MAX_DEPTH = 100
# Zones kept by name; any other aware value comes back with its fixed UTC offset.
_ZONES: dict[str, Any] = {"Asia/Shanghai": SHANGHAI, "UTC": UTC}


class UnrepresentableValue(ValueError):
    """A value that cannot cross between the engine and the sandbox; the message is Chinese."""


def _zone_name(value: datetime | time) -> str | None:
    if value.tzinfo is UTC:
        return "UTC"
    name = getattr(value.tzinfo, "key", None)
    return name if name in _ZONES else None


def _tagged(value: Any, depth: int) -> dict[str, Any]:
    """The tagged form of a value JSON has no type for."""
    if isinstance(value, tuple):
        return {TAG: "tuple", "v": [to_json(v, depth + 1) for v in value]}
    if isinstance(value, dict):
        pairs = [[to_json(k, depth + 1), to_json(v, depth + 1)] for k, v in value.items()]
        return {TAG: "dict", "v": pairs}
    if isinstance(value, datetime):  # before date: a datetime is a date
        return {TAG: "datetime", "v": value.isoformat(), "z": _zone_name(value)}
    if isinstance(value, date):
        return {TAG: "date", "v": value.isoformat()}
    if isinstance(value, time):
        return {TAG: "time", "v": value.isoformat(), "z": _zone_name(value)}
    if isinstance(value, timedelta):
        return {TAG: "timedelta", "v": [value.days, value.seconds, value.microseconds]}
    if isinstance(value, Decimal):
        return {TAG: "decimal", "v": str(value)}
    if isinstance(value, UUID):
        return {TAG: "uuid", "v": str(value)}
    raise UnrepresentableValue(f"类型为 {type(value).__name__} 的值不能作为流程数据传递")


def to_json(value: Any, depth: int = 0) -> Any:
    """*value* as plain JSON data, tagging what JSON cannot say; raise UnrepresentableValue."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if depth >= MAX_DEPTH:
        raise UnrepresentableValue(f"数据嵌套超过 {MAX_DEPTH} 层")
    if isinstance(value, list):
        return [to_json(v, depth + 1) for v in value]
    if isinstance(value, dict) and TAG not in value and all(type(k) is str for k in value):
        return {k: to_json(v, depth + 1) for k, v in value.items()}
    return _tagged(value, depth)


def _aware(value: datetime | time, zone: Any) -> Any:
    if zone not in _ZONES or value.tzinfo is None:
        return value
    if isinstance(value, datetime):
        return value.astimezone(_ZONES[zone])
    return value.replace(tzinfo=_ZONES[zone])


def _pairs(value: Any, depth: int) -> dict[Any, Any]:
    return {from_json(k, depth + 1): from_json(v, depth + 1) for k, v in value}


_DECODERS: dict[str, Callable[[Any, Any, int], Any]] = {
    "tuple": lambda v, _z, depth: tuple(from_json(item, depth + 1) for item in v),
    "dict": lambda v, _z, depth: _pairs(v, depth),
    "datetime": lambda v, z, _d: _aware(datetime.fromisoformat(v), z),
    "date": lambda v, _z, _d: date.fromisoformat(v),
    "time": lambda v, z, _d: _aware(time.fromisoformat(v), z),
    "timedelta": lambda v, _z, _d: timedelta(days=v[0], seconds=v[1], microseconds=v[2]),
    "decimal": lambda v, _z, _d: Decimal(v),
    "uuid": lambda v, _z, _d: UUID(v),
}


def from_json(value: Any, depth: int = 0) -> Any:
    """The value *to_json* encoded; raise UnrepresentableValue on anything malformed."""
    if depth >= MAX_DEPTH:
        raise UnrepresentableValue(f"数据嵌套超过 {MAX_DEPTH} 层")
    if isinstance(value, list):
        return [from_json(v, depth + 1) for v in value]
    if not isinstance(value, dict):
        return value
    tag = value.get(TAG)
    if tag is None:
        return {k: from_json(v, depth + 1) for k, v in value.items()}
    try:
        return _DECODERS[tag](value["v"], value.get("z"), depth)
    except UnrepresentableValue:
        raise
    except (KeyError, IndexError, TypeError, ValueError, ArithmeticError) as exc:
        raise UnrepresentableValue(f"无法读取的数据（{str(tag)[:20]}）") from exc


def encode_variables(variables: Mapping[str, Any], what: str) -> dict[str, Any]:
    """Each variable encoded, naming the one that cannot be (*what* says whose variables they are)."""
    encoded = {}
    for name, value in variables.items():
        try:
            encoded[name] = to_json(value)
        except UnrepresentableValue as exc:
            raise UnrepresentableValue(f"{what} {name[:40]} 无法传递：{exc}") from exc
    return encoded


def decode_variables(encoded: Any) -> dict[str, Any]:
    """The variables *encode_variables* produced (the top level is always a plain object)."""
    if not isinstance(encoded, dict):
        raise UnrepresentableValue("变量表格式不正确")
    return {str(name): from_json(value) for name, value in encoded.items()}


def dumps(message: Mapping[str, Any]) -> bytes:
    """One protocol line: compact JSON (which never contains a raw newline) and a newline."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
