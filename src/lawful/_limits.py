"""Bounded reading: every file, line and document lawful reads has a documented limit.

Input is read at most one byte past its limit (so ``/dev/zero`` fails at once), JSON is
parsed with duplicate keys refused, integers of bounded length, no ``NaN``/``Infinity``
and bounded nesting, and the interpreter's own failures on hostile input (deep
recursion, the 4,300-digit integer limit, memory) become :class:`lawful.InputLimitError`
naming ``source:line``. The limits are module constants, documented in
``docs/explanation/fail-closed.md``; every reader takes them as keywords.
"""

from __future__ import annotations

import json
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from lawful.exceptions import EventError, InputLimitError

__all__ = [
    "MAX_DEPTH",
    "MAX_DOCUMENT_BYTES",
    "MAX_EVENTS_BYTES",
    "MAX_INT_DIGITS",
    "MAX_LINE_BYTES",
    "DuplicateKeyError",
    "bounded_lines",
    "loads_json",
    "loads_toml",
    "read_bounded",
]

MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
"""The largest policy file, JSON document or key file read: 16 MiB."""
MAX_LINE_BYTES = 1024 * 1024
"""The longest line of a JSON Lines file: 1 MiB (an event is a few hundred bytes)."""
MAX_EVENTS_BYTES = 1024 * 1024 * 1024
"""The largest JSON Lines events file read at once: 1 GiB."""
MAX_DEPTH = 32
"""The deepest nesting of arrays and objects (tables) in a JSON or TOML document."""
MAX_INT_DIGITS = 20
"""The most digits of an integer in JSON (a 64-bit integer has at most 20)."""


class DuplicateKeyError(ValueError):
    """A JSON object repeats a key; ``key`` is the first one repeated.

    Never leaves lawful: each reader turns it into its own error, with a path.
    """

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f'duplicate key "{key}"')


def read_bounded(path: str | Path, *, limit: int = MAX_DOCUMENT_BYTES, what: str = "file") -> bytes:
    """At most ``limit`` bytes of the file at ``path``.

    Raises:
        InputLimitError: The file holds more than ``limit`` bytes (read: ``limit + 1``).
        OSError: The file cannot be opened or read.
    """
    with Path(path).open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise InputLimitError(f"{path}: {what} larger than {limit:,} bytes")
    return data


def bounded_lines(
    handle: BinaryIO,
    source: str,
    *,
    max_line_bytes: int = MAX_LINE_BYTES,
    max_bytes: int = MAX_EVENTS_BYTES,
) -> Iterator[str]:
    """The lines of a binary stream as UTF-8 text (a leading byte-order mark dropped).

    Raises:
        InputLimitError: A line longer than ``max_line_bytes``, or more than ``max_bytes``
            in all; the message names ``source:line``.
        EventError: A line that is not UTF-8 text.
    """
    total = 0
    number = 0
    while True:
        raw = handle.readline(max_line_bytes + 1)
        if not raw:
            return
        number += 1
        if len(raw) > max_line_bytes and not (
            len(raw) == max_line_bytes + 1 and raw.endswith(b"\n")
        ):
            raise InputLimitError(f"{source}:{number}: line longer than {max_line_bytes:,} bytes")
        total += len(raw)
        if total > max_bytes:
            raise InputLimitError(f"{source}:{number}: input larger than {max_bytes:,} bytes")
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]  # a byte-order mark left by an editor is not an error
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EventError(
                f"{source}:{number}: not UTF-8 text (byte {exc.start + 1} of the line)"
            ) from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKeyError(key)
            seen.add(key)
    return out


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise InputLimitError(f"an integer of {len(text):,} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def _constant(text: str) -> float:
    raise ValueError(f"{text} is not a JSON number")


def depth(value: object) -> int:
    """How deeply arrays and objects nest in ``value`` (a scalar: 0), without recursion."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            level += 1
            stack.extend((v, level) for v in item.values())
        elif isinstance(item, list):
            level += 1
            stack.extend((v, level) for v in item)
        deepest = max(deepest, level)
    return deepest


def loads_json(
    text: str | bytes,
    where: str,
    *,
    object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] = _no_duplicates,
    max_depth: int = MAX_DEPTH,
    max_bytes: int = MAX_DOCUMENT_BYTES,
) -> Any:
    """Parse one JSON document strictly and within bounds.

    Duplicate keys raise :class:`DuplicateKeyError` (with the default hook); syntax
    errors raise :class:`json.JSONDecodeError` (callers word it); ``NaN`` and
    ``Infinity`` are syntax errors.

    Raises:
        InputLimitError: Larger than ``max_bytes``, nested deeper than ``max_depth``, an
            integer longer than :data:`MAX_INT_DIGITS`, or too large to hold in memory.
    """
    if len(text) > max_bytes:
        raise InputLimitError(f"{where}: larger than {max_bytes:,} bytes")
    try:
        data = json.loads(
            text,
            object_pairs_hook=object_pairs_hook,
            parse_int=_int,
            parse_constant=_constant,
        )
    except InputLimitError as exc:
        raise InputLimitError(f"{where}: {exc}") from None
    except RecursionError:
        raise InputLimitError(f"{where}: nested deeper than {max_depth} levels") from None
    except MemoryError:
        raise InputLimitError(f"{where}: too large to read") from None
    if depth(data) > max_depth:
        raise InputLimitError(f"{where}: nested deeper than {max_depth} levels")
    return data


def loads_toml(
    text: str, where: str, *, max_depth: int = MAX_DEPTH, max_bytes: int = MAX_DOCUMENT_BYTES
) -> dict[str, Any]:
    """Parse a TOML document within bounds (syntax errors raise ``TOMLDecodeError``).

    Raises:
        InputLimitError: Larger than ``max_bytes``, nested deeper than ``max_depth``, an
            integer past Python's digit limit, or too large to hold in memory.
    """
    if len(text) > max_bytes:
        raise InputLimitError(f"{where}: larger than {max_bytes:,} bytes")
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise InputLimitError(f"{where}: nested deeper than {max_depth} levels") from None
    except MemoryError:
        raise InputLimitError(f"{where}: too large to read") from None
    except tomllib.TOMLDecodeError:
        raise
    except ValueError:  # int() past sys.get_int_max_str_digits(), inside tomllib
        limit = sys.get_int_max_str_digits()
        raise InputLimitError(f"{where}: an integer of more than {limit:,} digits") from None
    if depth(data) > max_depth:
        raise InputLimitError(f"{where}: nested deeper than {max_depth} levels")
    return data
