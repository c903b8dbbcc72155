"""The Ruby gem's token file format: ``YAML::Store`` holding ``Procore::Auth::Token`` objects.

A file the gem wrote stays a file the gem can read: :func:`parse` reads exactly the
shape ``YAML::Store`` writes (so PyYAML is not needed) and :func:`dump` writes it back
the way Psych would, tagged entries, the gem's integer and string keys kept apart
(``7:`` is Ruby's Integer 7, ``'7':`` the String "7"), and ``expires_at`` as the
integer epoch the gem stores after a refresh.  Error messages give line numbers only,
since a line may hold a token.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..auth._token import normalize_expires_at

__all__ = ["FIELDS", "CorruptFile", "Key", "dump", "parse"]

#: An entry's key: Ruby's Integer keys stay ints, everything else is a string.
Key = str | int
FIELDS = ("access_token", "refresh_token", "expires_at")
_RUBY_TAG = "!ruby/object:Procore::Auth::Token"
_RUBY_TIME = re.compile(
    r"(\d{4}-\d\d-\d\d)[ Tt](\d\d:\d\d:\d\d)(\.\d+)?\s*(Z|UTC|[+-]\d\d(?::?\d\d)?)?"
)
# A plain scalar Psych would read back as the same string (not a number, bool, null...).
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-/+=]*")
_RESERVED = {"y", "n", "yes", "no", "true", "false", "on", "off", "null", "nil"}


class CorruptFile(Exception):
    """The content is not a token file; the message never quotes the content."""


def parse(text: str) -> dict[Key, dict[str, Any]]:
    """Read the mapping of Ruby token objects that the gem's ``YAML::Store`` writes.

    Top-level ``key: !ruby/object:Procore::Auth::Token`` lines (integer, plain or
    quoted keys; an untagged mapping is accepted too), each followed by indented
    ``field: scalar`` lines.  Anything else is reported by line number only, since
    the line itself may hold a token.
    """
    entries: dict[Key, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not line[0].isspace():
            current = None
            if stripped in ("...", "{}"):
                continue
            if stripped.startswith("---"):  # document start, maybe "--- {}" when empty
                if re.sub(r"(^|\s)#.*$", "", stripped[3:]).strip() not in ("", "{}"):
                    raise CorruptFile(f"line {number}: unexpected document content")
                continue
            key, rest = _split_pair(stripped, number)
            if rest not in ("", "{}", "~", "null", _RUBY_TAG, f"{_RUBY_TAG} {{}}"):
                raise CorruptFile(f"line {number}: expected a {_RUBY_TAG} entry")
            name: Key = _scalar(key, number) or ""
            if key.isascii() and key.isdigit():  # a plain integer key is Ruby's Integer
                name = int(key)
            current = entries[name] = {}
        elif current is None:
            raise CorruptFile(f"line {number}: indented line outside an entry")
        else:
            field, rest = _split_pair(stripped, number)
            if field in FIELDS:
                value: str | int | None = _scalar(rest, number)
                if field == "expires_at" and isinstance(value, str):
                    value = _epoch_or_text(value)
                current[field] = value
    # An entry without fields is Ruby's nil: the key holds no token.
    return {key: fields for key, fields in entries.items() if fields}


def _split_pair(text: str, number: int) -> tuple[str, str]:
    if text[0] in "'\"":
        end = _closing_quote(text, number)
        head, tail = text[: end + 1], text[end + 1 :].lstrip()
        if not tail.startswith(":"):
            raise CorruptFile(f"line {number}: expected 'key: value'")
        return head, tail[1:].strip()
    match = re.search(r":(\s|$)", text)
    if match is None:
        raise CorruptFile(f"line {number}: expected 'key: value'")
    return text[: match.start()].strip(), text[match.end() :].strip()


def _closing_quote(text: str, number: int) -> int:
    quote, index = text[0], 1
    while index < len(text):
        char = text[index]
        if quote == '"' and char == "\\":
            index += 2
            continue
        if char == quote:
            if quote == "'" and text[index + 1 : index + 2] == "'":
                index += 2
                continue
            return index
        index += 1
    raise CorruptFile(f"line {number}: unterminated quoted string")


def _scalar(text: str, number: int) -> str | None:
    if text[:1] == "'":
        end = _closing_quote(text, number)
        return text[1:end].replace("''", "'")
    if text[:1] == '"':
        end = _closing_quote(text, number)
        try:
            value = json.loads(text[: end + 1])
        except ValueError:
            raise CorruptFile(f"line {number}: unsupported escape in a quoted string") from None
        return str(value)
    plain = re.sub(r"\s+#.*$", "", text).strip()
    if plain in ("", "~", "null", "Null", "NULL"):
        return None
    if plain[0] in "!&*|>[{":
        raise CorruptFile(f"line {number}: unsupported YAML value")
    return plain


def _epoch_or_text(value: str) -> int | str:
    """Epoch seconds from an integer or a Ruby ``Time`` (``2023-11-14 22:13:20.000000000 Z``).

    Text that is neither is kept, so only a fetch of that very key fails on it.
    """
    try:
        epoch = normalize_expires_at(_ruby_time_to_iso(value))
    except ValueError:
        return value
    return value if epoch is None else epoch


def _ruby_time_to_iso(value: str) -> str:
    match = _RUBY_TIME.fullmatch(value)
    if match is None:
        return value
    day, clock, fraction, zone = match.groups()
    zone = "+00:00" if zone in (None, "Z", "UTC") else zone
    if len(zone) == 3:
        zone += ":00"
    elif ":" not in zone:
        zone = f"{zone[:3]}:{zone[3:]}"
    return f"{day}T{clock}{fraction or ''}{zone}"


def dump(entries: dict[Key, dict[str, Any]]) -> str:
    """The entries as ``YAML::Store`` writes them, readable by the gem and by :func:`parse`."""
    if not entries:
        return "--- {}\n"
    lines = ["---"]
    for key, fields in entries.items():
        lines.append(f"{key if isinstance(key, int) else _quote(key)}: {_RUBY_TAG}")
        for field in FIELDS:
            value = fields.get(field)
            if value is None:
                lines.append(f"  {field}:")
            elif isinstance(value, int) and not isinstance(value, bool):
                lines.append(f"  {field}: {value}")
            else:
                lines.append(f"  {field}: {_quote(str(value))}")
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    """``text`` as a YAML scalar that reads back as the same Ruby String."""
    if _PLAIN.fullmatch(text) and text.lower() not in _RESERVED:
        return text
    if text.isprintable():
        return "'" + text.replace("'", "''") + "'"
    return json.dumps(text)  # a JSON string is a valid YAML double-quoted scalar
