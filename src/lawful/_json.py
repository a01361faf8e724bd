"""The one JSON shape of events, subjects and decisions (the CLI's JSON Lines, the ledger's).

An event is an object with ``"type"`` (``consent_given``, ...), ``"at"`` as ISO 8601
with an offset, and its fields by name; ``None`` fields are left out. Reading is
strict: an unknown key, a missing field, a wrong type or a naive timestamp is an
error that says where.
"""

from __future__ import annotations

import enum
import io
import json
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any, Union, get_args, get_origin, get_type_hints

import attrs

from lawful._limits import (
    MAX_DEPTH,
    MAX_EVENTS_BYTES,
    MAX_LINE_BYTES,
    DuplicateKeyError,
    bounded_lines,
    loads_json,
)
from lawful._time import in_utc_range
from lawful.decision import Decision, Reason, ReasonCode
from lawful.events import (
    BY_TYPE,
    ConsentGiven,
    ConsentMethod,
    Event,
    _any_text,
    _day,
    _flag,
    _method,
    _moment,
    _moment_or_none,
    _terms,
    _text,
    _text_or_none,
)
from lawful.exceptions import EventError, InputLimitError, NaiveDatetimeError
from lawful.model import LegalBasis, PurposeTerms

__all__ = [
    "USUAL_EVENTS",
    "column_reader",
    "decision_from_dict",
    "decision_to_dict",
    "describe_event",
    "dumps_events",
    "event_from_dict",
    "event_to_dict",
    "read_events",
    "read_usual_event",
]

_HINTS: dict[type[Any], dict[str, Any]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    found = _HINTS.get(cls)
    if found is None:
        found = {a.name: get_type_hints(cls)[a.name] for a in attrs.fields(cls)}
        _HINTS[cls] = found
    return found


def _terms_to_dict(terms: PurposeTerms) -> dict[str, object]:
    return {
        "statement": terms.statement,
        "basis": terms.basis.value,
        "vendors": sorted(terms.vendors),
        "data": sorted(terms.data),
    }


def event_to_dict(event: Event) -> dict[str, object]:
    """The JSON object of one event (keys in a stable order)."""
    out: dict[str, object] = {"type": event.event_type}
    for field in attrs.fields(type(event)):
        value = getattr(event, field.name)
        if value is None:
            continue
        if isinstance(value, datetime | date):
            out[field.name] = value.isoformat()
        elif isinstance(value, PurposeTerms):
            out[field.name] = _terms_to_dict(value)
        elif isinstance(value, enum.Enum):
            out[field.name] = value.value
        else:
            out[field.name] = value
    return out


def _fail(where: str, message: str) -> EventError:
    return EventError(f"{where}: {message}")


class _Bad(Exception):  # noqa: N818 - a field parser's complaint, given its path by the caller
    pass


class _Naive(Exception):  # noqa: N818 - becomes NaiveDatetimeError with the field's path
    pass


def _read_datetime(value: object) -> datetime:
    if not isinstance(value, str):
        raise _Bad("expected an ISO 8601 timestamp with an offset")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _Bad(f"expected an ISO 8601 timestamp with an offset, got {value!r}") from None
    if moment.tzinfo is None:
        raise _Naive
    return moment


def _read_date(value: object) -> date:
    if not isinstance(value, str):
        raise _Bad("expected a date like 2001-02-28")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _Bad(f"expected a date like 2001-02-28, got {value!r}") from None


def _read_bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise _Bad("expected true or false")
    return value


def _read_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad("expected an integer")
    return value


def _read_str(value: object) -> str:
    if not isinstance(value, str):
        raise _Bad("expected a string")
    return value


def _read_terms(value: object) -> PurposeTerms:
    return _parse_terms(value, "")


_METHODS: dict[str, ConsentMethod] = {m.value: m for m in ConsentMethod}  # a call less


def _read_method(value: object) -> ConsentMethod:
    if not isinstance(value, str):
        raise _Bad('expected a consent method such as "banner"')
    found = _METHODS.get(value)
    if found is not None:
        return found
    # Files from before methods were a closed set hold free text. Spelled differently
    # ("Pre-ticked box"), a named method is still that method (never consent, if it is
    # one of those); anything else is an affirmative act of unknown form.
    normal = "_".join(value.strip().lower().replace("-", " ").split())
    try:
        return ConsentMethod(normal)
    except ValueError:
        return ConsentMethod.UNSPECIFIED


_READERS: dict[object, Callable[[object], object]] = {
    datetime: _read_datetime,
    date: _read_date,
    bool: _read_bool,
    int: _read_int,
    str: _read_str,
    PurposeTerms: _read_terms,
    ConsentMethod: _read_method,
}


# Per event class, once: each field's reader and whether it may be None; the fields it must
# have. Reading an event then costs one look-up and one call per field.
_Schema = tuple[dict[str, tuple[Callable[[object], object], bool]], tuple[str, ...]]
_SCHEMAS: dict[type[Any], _Schema] = {}


def _kinds(cls: type[Any]) -> dict[str, tuple[object, bool]]:
    """Each field's type, ``X | None`` read as ``X``, and whether it may be ``None``."""
    kinds: dict[str, tuple[object, bool]] = {}
    for name, hint in _hints(cls).items():
        if get_origin(hint) in (Union, types.UnionType):
            kinds[name] = (next(a for a in get_args(hint) if a is not type(None)), True)
        else:
            kinds[name] = (hint, False)
    return kinds


def _schema(cls: type[Any]) -> _Schema:
    """One reader per field of an event class, and the fields it must have (built once)."""
    found = _SCHEMAS.get(cls)
    if found is None:
        readers: dict[str, tuple[Callable[[object], object], bool]] = {}
        for name, (kind, optional) in _kinds(cls).items():
            readers[name] = (_READERS[kind], optional)
        required = tuple(a.name for a in attrs.fields(cls) if a.default is attrs.NOTHING)
        found = (readers, required)
        _SCHEMAS[cls] = found
    return found


def _parse_terms(value: object, where: str) -> PurposeTerms:
    if not isinstance(value, Mapping):
        raise _fail(where, "expected an object with statement, basis, vendors, data")
    extra = set(value) - {"statement", "basis", "vendors", "data"}
    if extra:
        raise _fail(f"{where}.{min(extra)}", "unknown key")
    try:
        basis = LegalBasis(value.get("basis"))
    except ValueError:
        raise _fail(f"{where}.basis", f"unknown legal basis {value.get('basis')!r}") from None
    statement = value.get("statement")
    if not isinstance(statement, str):
        raise _fail(f"{where}.statement", "expected a string")
    lists = {}
    for key in ("vendors", "data"):
        items = value.get(key, [])
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise _fail(f"{where}.{key}", "expected a list of strings")
        lists[key] = frozenset(items)
    return PurposeTerms(statement, basis, lists["vendors"], lists["data"])


_PREPARED: dict[type[Any], Callable[[Mapping[str, object]], Event]] = {}

# How the prepared constructor reads a field of each type in line, without a call to its
# reader: each snippet turns ``v`` into ``{f}`` and accepts no more than the reader does
# (``type(v) is str`` where the reader asks ``isinstance``), raising on anything else.
# Other types call their reader (``{r}``).
_INLINE: dict[object, tuple[str, ...]] = {
    str: ("if type(v) is not str: raise KeyError", "{f} = v"),
    bool: ("if type(v) is not bool: raise KeyError", "{f} = v"),
    int: ("if type(v) is not int: raise KeyError", "{f} = v"),
    datetime: ("{f} = datetime_from(v)", "if {f}.tzinfo is None: raise KeyError"),
    date: ("{f} = date_from(v)",),
    ConsentMethod: ("{f} = METHODS[v]",),
}

# When an event validator is sure to pass for a value read as above (so already of its
# field's type, exactly): the validator is called only when this is false, and never when
# it is None. A validator of a field type not listed here is always called, as attrs
# calls it: after every field is set, with the instance. This table restates the rules of
# those validators in lawful/events.py: change it with them (tests/test_json.py checks the
# prepared constructor against the class on every field and edge value).
_PASSES: dict[tuple[object, object], str | None] = {
    (_text, str): "{f}",  # a str, so only its emptiness is left to check
    (_text_or_none, str): "{f} is None or {f}",
    (_any_text, str): None,
    (_flag, bool): None,
    (_method, ConsentMethod): None,  # read from its value: a member
    (_terms, PurposeTerms): None,  # read by _parse_terms: a PurposeTerms
    (_day, date): None,  # date.fromisoformat: a date, not a datetime
    (_moment, datetime): "{f}.tzinfo is UTC and 1 < {f}.year < 9999",
    (_moment_or_none, datetime): "{f} is None or {f}.tzinfo is UTC and 1 < {f}.year < 9999",
}


def _plain(cls: type[Any]) -> bool:
    """Whether making ``cls`` is setting its fields and running their validators, and
    nothing else (attrs' own ``__init__``: no converter, no hook, no cached hash; every
    default passes its validator), so that the prepared constructor may do just that.
    """
    fields = attrs.fields(cls)
    init = getattr(cls.__init__, "__code__", None)
    if (
        init is None
        or not init.co_filename.startswith("<attrs generated")
        or hasattr(cls, "__attrs_pre_init__")
        or hasattr(cls, "__attrs_post_init__")
        or "_attrs_cached_hash" in getattr(cls, "__slots__", ())
        or any(f.converter is not None or not f.init or f.alias != f.name for f in fields)
    ):
        return False
    for field in fields:
        if field.validator is not None and field.default is not attrs.NOTHING:
            try:
                field.validator(None, field, field.default)
            except Exception:  # noqa: BLE001 - any failure: let the class make its events
                return False
    return True


def _prepared(cls: type[Any]) -> Callable[[Mapping[str, object]], Event]:
    """The prepared constructor of an event class (made once).

    Each field is read by name and checked in line as its reader checks it, then the
    instance is made with every field set and each field's validator run where the value
    read is not already sure to pass it (:data:`_PASSES`): what the class's ``__init__``
    does, without a call per field. The constructor raises on anything unusual (a
    missing or unknown key, a ``null``, a bad value, a method spelled other than its
    value, a timestamp not in UTC), and :func:`event_from_dict` then reads the object
    again the general way, through the class itself, which accepts what its readers and
    validators accept and says where anything else is.
    """
    found = _PREPARED.get(cls)
    if found is not None:
        return found
    kinds = _kinds(cls)
    plain = _plain(cls)
    scope: dict[str, object] = {
        "cls": cls,
        "new": object.__new__,
        "put": object.__setattr__,  # frozen: attrs' __init__ sets its fields this way too
        "UTC": UTC,
        "datetime_from": datetime.fromisoformat,
        "date_from": date.fromisoformat,
        "METHODS": _METHODS,
    }
    fields = attrs.fields(cls)
    required = sum(1 for field in fields if field.default is attrs.NOTHING)
    # Every key is one of the class's fields, "type", or the ignored "subject": a key
    # left over after counting those read is unknown (or null), and the read falls back.
    body = ["def read(data):", f'    n = len(data) - {required + 1} - ("subject" in data)']
    made = ["    o = new(cls)"]
    checks = []
    for field in fields:
        name, target = field.name, f"f_{field.name}"
        if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            raise TypeError(f"{cls.__name__}.{name}: a factory default is not prepared")
        kind = kinds[name][0]
        scope[f"r_{name}"] = _READERS[kind]
        inline = _INLINE.get(kind, ("{f} = {r}(v)",))  # otherwise the field's reader
        steps = [step.format(f=target, r=f"r_{name}") for step in inline]
        if field.default is attrs.NOTHING:
            body.append(f"    v = data[{name!r}]")
            body += [f"    {step}" for step in steps]
        else:
            scope[f"d_{name}"] = field.default
            body.append(f"    v = data.get({name!r})")
            body.append(f"    if v is None: {target} = d_{name}")
            body.append("    else:")
            body.append("        n -= 1")
            body += [f"        {step}" for step in steps]
        made.append(f"    put(o, {name!r}, {target})")
        if field.validator is not None:
            scope[f"v_{name}"], scope[f"a_{name}"] = field.validator, field
            call = f"v_{name}(o, a_{name}, {target})"
            if (field.validator, kind) not in _PASSES:
                checks.append(f"    {call}")
            elif (passes := _PASSES[field.validator, kind]) is not None:
                checks.append(f"    if not ({passes.format(f=target)}): {call}")
    body.append("    if n: raise KeyError")
    if plain:
        body += made + checks + ["    return o"]
    else:
        args = ", ".join(f"{field.name}=f_{field.name}" for field in fields)
        body.append(f"    return cls({args})")
    exec("\n".join(body), scope)  # noqa: S102 - source made here from the class's own fields
    found = scope["read"]  # type: ignore[assignment]
    _PREPARED[cls] = found  # type: ignore[assignment]
    return found  # type: ignore[return-value]


_ColumnReader = Callable[[int, int], Event]
_COLUMN_FACTORIES: dict[tuple[type[Any], tuple[str, ...]], Callable[..., _ColumnReader]] = {}


def column_reader(cls: type[Any], columns: Mapping[str, list[object]]) -> _ColumnReader:
    """The prepared constructor of :func:`_prepared`, reading row ``i`` of ``columns``
    (field name to values, ``None`` for absent) instead of one object: ``read(i, given)``
    where ``given`` is how many fields row ``i`` holds in all. It reads the same fields
    with the same readers and calls the class the same way, and raises on anything
    unusual (a required field absent, a field of another class given, a bad value): the
    caller then reads that row with :func:`event_from_dict`, which says what and where.
    """
    names = tuple(f.name for f in attrs.fields(cls) if f.name in columns)
    factory = _COLUMN_FACTORIES.get((cls, names))
    if factory is None:
        factory = _column_factory(cls, names)
        _COLUMN_FACTORIES[(cls, names)] = factory
    return factory(*(columns[name] for name in names))


def _column_factory(cls: type[Any], present: tuple[str, ...]) -> Callable[..., _ColumnReader]:
    readers, _ = _schema(cls)
    scope: dict[str, object] = {"cls": cls}
    body = [f"def make({', '.join(f'c_{name}' for name in present)}):", "    def read(i, given):"]
    body.append("        n = 0")
    args = []
    for field in attrs.fields(cls):
        name = field.name
        if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            raise TypeError(f"{cls.__name__}.{name}: a factory default is not prepared")
        if name not in present:
            if field.default is attrs.NOTHING:
                body.append("        raise KeyError")  # required and never given
                break
            scope[f"d_{name}"] = field.default  # _prepared refuses factory defaults
            args.append(f"{name}=d_{name}")
            continue
        scope[f"r_{name}"] = readers[name][0]
        body.append(f"        v = c_{name}[i]")
        if field.default is attrs.NOTHING:
            body.append("        if v is None: raise KeyError")
            body.append(f"        n += 1; f_{name} = r_{name}(v)")
        else:
            scope[f"d_{name}"] = field.default
            body.append(f"        if v is None: f_{name} = d_{name}")
            body.append(f"        else: n += 1; f_{name} = r_{name}(v)")
        args.append(f"{name}=f_{name}")
    else:
        body.append("        if n != given: raise KeyError")  # a field of another class
        body.append(f"        return cls({', '.join(args)})")
    body.append("    return read")
    exec("\n".join(body), scope)  # noqa: S102 - source made here from the class's own fields
    return scope["make"]  # type: ignore[return-value]


class _ByType(dict[str, Callable[[Mapping[str, object]], Event]]):
    """The prepared constructor of each event type, by its name, made when first asked."""

    def __missing__(self, kind: str) -> Callable[[Mapping[str, object]], Event]:
        found = self[kind] = _prepared(BY_TYPE[kind])
        return found


USUAL_EVENTS: Mapping[str, Callable[[Mapping[str, object]], Event]] = _ByType()
"""Per event type name, its prepared constructor: :func:`read_usual_event`'s table."""


def read_usual_event(data: dict[str, object]) -> Event:
    """An event object of the usual shape (every key known, no ``null``, every value good),
    read by its type's prepared constructor: :func:`event_from_dict` without its checks of
    the object and its type, for a reader that holds a ``dict`` from JSON and many events.

    Raises:
        Exception: Of any kind, on anything unusual (an unknown or missing type too):
            read the object with :func:`event_from_dict` then, which accepts what the
            general reading accepts and raises the documented error, saying where.
    """
    return USUAL_EVENTS[data["type"]](data)  # type: ignore[index]


def event_from_dict(data: Mapping[str, object], *, where: str = "event") -> Event:
    """Read one event object; ``subject`` (the JSON Lines owner) is ignored here.

    Raises:
        EventError: Unknown type or key, missing field, wrong type; the message says where.
        NaiveDatetimeError: A timestamp without an offset.
    """
    if type(data) is not dict and not isinstance(data, Mapping):
        raise _fail(where, "expected a JSON object")
    kind = data.get("type")
    cls = BY_TYPE.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise _fail(
            f"{where}.type", f"unknown event type {kind!r}; expected one of {', '.join(BY_TYPE)}"
        )
    try:
        # The usual object: every key known, every value good, read by the class's
        # prepared constructor (the same readers and validators).
        return (_PREPARED.get(cls) or _prepared(cls))(data)
    except Exception:  # noqa: BLE001, S110 - read again below, which says what and where
        pass
    readers, required = _SCHEMAS.get(cls) or _schema(cls)
    kwargs: dict[str, object] = {}
    for key, value in data.items():
        if key == "type" or key == "subject":  # noqa: PLR1714 - two cheap compares, no set
            continue
        reader = readers.get(key)
        if reader is None:
            raise _fail(f"{where}.{key}", f"unknown key for {kind}")
        if value is None and reader[1]:
            kwargs[key] = None
            continue
        try:
            kwargs[key] = reader[0](value)
        except _Bad as bad:
            raise _fail(f"{where}.{key}", str(bad)) from None
        except _Naive:
            raise NaiveDatetimeError(f"{where}.{key}") from None
        except EventError as exc:  # from nested terms, whose path starts at the field
            raise EventError(f"{where}.{key}{exc}") from None
    if len(kwargs) < len(readers):  # some field is left to its default: is it required?
        for name in required:
            if name not in kwargs:
                raise _fail(f"{where}.{name}", f"missing required key for {kind}")
    try:
        return cls(**kwargs)  # type: ignore[arg-type]
    except NaiveDatetimeError:  # pragma: no cover - caught above with a better path
        raise
    except (TypeError, ValueError) as exc:
        # attrs validators already name the field (age_declared.at_least: ...).
        head = where.rsplit(": ", 1)[0] if ": " in where else where
        raise _fail(head, str(exc)) from None


def read_events(
    lines: Iterable[str],
    *,
    source: str = "events",
    max_line_bytes: int = MAX_LINE_BYTES,
    max_bytes: int = MAX_EVENTS_BYTES,
    max_depth: int = MAX_DEPTH,
) -> Iterator[tuple[str, Event]]:
    """Read JSON Lines of events, each with a ``subject``; yields ``(subject id, event)``.

    Blank lines are allowed; anything else that is not a valid event stops the read
    with an error naming ``source:line``. Nothing is silently skipped. A key given twice
    on one line is an error (JSON would keep the last: a withdrawal ending in
    ``"type": "interaction"`` would be read as an interaction).

    An open text file (``open(path)``, ``sys.stdin``) is read through its binary buffer,
    so a line is never held past ``max_line_bytes`` (``/dev/zero`` fails at once).

    Raises:
        EventError: A line that is not UTF-8, not JSON, not an object, or not a valid
            event (duplicate keys included); the message names ``source:line``.
        NaiveDatetimeError: A timestamp without an offset.
        InputLimitError: A line longer than ``max_line_bytes`` (1 MiB), more than
            ``max_bytes`` in all (1 GiB), nesting deeper than ``max_depth`` (32), or an
            integer longer than 20 digits.
    """
    if isinstance(lines, io.TextIOWrapper) and _unread(lines):
        lines = bounded_lines(
            lines.buffer, source, max_line_bytes=max_line_bytes, max_bytes=max_bytes
        )
    total = 0
    for number, line in enumerate(lines, start=1):
        where = f"{source}:{number}"
        if type(line) is not str:
            raise _fail(where, f"expected a line of text, got {type(line).__name__}")
        total += len(line)
        if len(line) > max_line_bytes or total > max_bytes:
            limit = max_line_bytes if len(line) > max_line_bytes else max_bytes
            raise InputLimitError(f"{where}: input longer than {limit:,} characters")
        if not line.strip():
            continue
        try:
            data = loads_json(line, where, max_depth=max_depth, max_bytes=max_line_bytes)
        except json.JSONDecodeError as exc:
            raise _fail(where, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
        except DuplicateKeyError as exc:
            raise _fail(where, f"{exc}; JSON would keep the last one, lawful refuses") from None
        if not isinstance(data, dict):
            raise _fail(where, "expected a JSON object")
        subject = data.get("subject")
        if not isinstance(subject, str) or not subject:
            raise _fail(f"{where}: subject", "expected the subject id as a string")
        kind = data.get("type", "event")
        label = kind[:40] if isinstance(kind, str) and kind else "event"
        yield subject, event_from_dict(data, where=f"{where}: {label}")


def _unread(handle: io.TextIOWrapper) -> bool:
    """Whether nothing was read from ``handle`` yet, so its binary buffer can be read."""
    if not handle.seekable():
        return True  # a pipe (standard input) handed over unread
    return handle.tell() == 0


def dumps_events(pairs: Iterable[tuple[str, Event]]) -> str:
    """JSON Lines for ``(subject id, event)`` pairs; :func:`read_events` reads them back."""
    return "".join(
        _one_line(json.dumps({"subject": subject, **event_to_dict(event)}, ensure_ascii=False))
        + "\n"
        for subject, event in pairs
    )


# JSON leaves these unescaped, but str.splitlines() splits on them: escape them so that
# every reader of JSON Lines sees one event per line.
_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _one_line(text: str) -> str:
    return text.translate(_LINE_BREAKS)


def describe_event(event: Event) -> str:
    """A short phrase for explanations: ``consent_given for 'analytics' at 2025-03-01T09:00Z``."""
    what = event.event_type.replace("_", " ")
    target = getattr(event, "purpose", None)
    if isinstance(event, ConsentGiven) and event.vendor:
        target = f"{event.purpose}/{event.vendor}"
    about = f" for '{target}'" if target else ""
    for name in ("scope", "contract", "kind"):
        detail = getattr(event, name, None)
        if detail:
            about += f" ({name} '{detail}')"
    ident = f" (id {event.id})" if event.id else ""
    return f"the {what} event{about} at {event.at.isoformat()}{ident}"


def decision_to_dict(decision: Decision) -> dict[str, object]:
    """The stable JSON object of a decision."""
    return {
        "allowed": decision.allowed,
        "purpose": decision.purpose,
        "at": decision.at.isoformat(),
        "basis": None if decision.basis is None else decision.basis.value,
        "valid_until": None if decision.valid_until is None else decision.valid_until.isoformat(),
        "reasons": [
            {
                "code": r.code.value,
                "message": r.message,
                "article": r.article,
                "event": None if r.event is None else event_to_dict(r.event),
                "clause": r.clause,
            }
            for r in decision.reasons
        ],
    }


def _decision_head(data: Mapping[str, Any]) -> tuple[bool, str, datetime]:
    allowed, purpose = data["allowed"], data["purpose"]
    if type(allowed) is not bool or type(purpose) is not str:  # "no" is not false
        raise TypeError
    at = datetime.fromisoformat(data["at"])
    if at.utcoffset() is None or not in_utc_range(at):
        raise ValueError
    return allowed, purpose, at


def decision_from_dict(data: Mapping[str, Any]) -> Decision:
    """Read back what :func:`decision_to_dict` wrote."""
    try:
        reasons = tuple(
            Reason(
                code=ReasonCode(r["code"]),
                message=r["message"],
                article=r["article"],
                event=None if r.get("event") is None else event_from_dict(r["event"]),
                clause=r.get("clause"),
            )
            for r in data["reasons"]
        )
        valid_until = data.get("valid_until")
        allowed, purpose, at = _decision_head(data)
        return Decision(
            allowed=allowed,
            purpose=purpose,
            at=at,
            basis=None if data.get("basis") is None else LegalBasis(data["basis"]),
            reasons=reasons,
            valid_until=None if valid_until is None else datetime.fromisoformat(valid_until),
        )
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        # Any shape other than decision_to_dict's is an error naming the decision, never a
        # raw KeyError from a missing key or an AttributeError from a list where an object is.
        raise EventError(f"decision: not a decision object ({type(exc).__name__})") from None
