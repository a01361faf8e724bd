"""Policies to and from their file shape (TOML and JSON) with cattrs.

There is no mutable global converter: :func:`make_converter` builds a fresh one, and
:func:`configure_converter` teaches any cattrs converter lawful's types. Loads that
pass no converter share one private converter that is sealed once configured (any
later hook registration raises), so nobody can change how another caller's policy
is read, and the per-class functions cattrs compiles are made once per process
rather than once per load.
Structural errors arrive from cattrs as exception groups; they are walked into
:class:`lawful.Problem` values with dotted paths, so the user sees
``purposes.analytics.retention.rules[0].period: expected a duration like "60 months"``.
"""

from __future__ import annotations

import enum
import functools
import json
import tomllib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import cattrs
import tomli_w
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
)
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from lawful._limits import loads_json, loads_toml, read_bounded
from lawful.duration import Duration
from lawful.exceptions import PolicyError, Problem
from lawful.model import (
    AfterCollection,
    AfterLastInteraction,
    AgeRules,
    Contact,
    DataCategory,
    Entity,
    LegalBasis,
    NoPeriodStated,
    OptOutScope,
    Purpose,
    Retention,
    RetentionRule,
    SessionEnd,
    SignalBinding,
    Signals,
    TcfBinding,
    UnknownSubjectCategory,
    Vendor,
)
from lawful.policy import FORMAT_VERSION, Policy, PolicyVersion

__all__ = [
    "configure_converter",
    "dumps_policy",
    "load_policy",
    "loads_policy",
    "make_converter",
    "policy_from_dict",
    "policy_to_dict",
]

_RULE_KINDS: dict[str, type[Any]] = {
    "after_collection": AfterCollection,
    "after_last_interaction": AfterLastInteraction,
    "session_end": SessionEnd,
    "not_stated": NoPeriodStated,
}
_KIND_OF = {cls: kind for kind, cls in _RULE_KINDS.items()}


def _strict(expected: type[Any], word: str) -> Any:
    def structure(value: object, _: object) -> object:
        # bool is an int in Python; a policy file that says 1 for true is a mistake.
        if isinstance(value, bool) and expected is not bool:
            raise TypeError(f"expected {word}, got a boolean")
        if not isinstance(value, expected):
            raise TypeError(f"expected {word}, got {_kind(value)}")
        return value

    return structure


def _kind(value: object) -> str:
    names = {
        str: "a string",
        int: "an integer",
        bool: "a boolean",
        float: "a number",
        list: "a list",
        dict: "a table",
    }
    return names.get(type(value), type(value).__name__)


def _structure_duration(value: object, _: object) -> Duration:
    if not isinstance(value, str):
        raise TypeError(f'expected a duration like "60 months", got {_kind(value)}')
    return Duration.parse(value)


def _structure_date(value: object, _: object) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"expected a date like 2024-08-30, got {value!r}")


def _structure_instant(value: object, _: object) -> datetime:
    # TOML gives an offset date-time as an aware datetime and a local one as a naive
    # datetime; JSON gives text. A date alone, or a time without an offset, is refused:
    # lawful never guesses a zone.
    moment: datetime | None = None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
    if moment is None:
        raise ValueError(
            f"expected a date and time with an offset, such as 2024-08-30T00:00:00+02:00, "
            f"got {value!r}"
        )
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"naive date and time {moment.isoformat()!r}: add an offset such as +02:00 or Z "
            "(lawful never guesses a time zone)"
        )
    return moment


def _structure_enum(value: object, cls: type[enum.Enum]) -> enum.Enum:
    for member in cls:
        if member.value == value:
            return member
    choices = ", ".join(repr(m.value) for m in cls)
    raise ValueError(f"expected one of {choices}, got {value!r}")


def make_converter() -> cattrs.Converter:
    """A new converter configured for lawful's policy shapes."""
    converter = cattrs.Converter(forbid_extra_keys=True)
    configure_converter(converter)
    return converter


class _SealedConverter(cattrs.Converter):
    """A converter whose hooks can no longer change once :meth:`seal` is called."""

    __slots__ = ("_sealed",)

    def __init__(self) -> None:
        self._sealed = False
        super().__init__(forbid_extra_keys=True)

    def seal(self) -> None:
        self._sealed = True

    def _refuse(self) -> None:
        if self._sealed:
            raise TypeError(
                "lawful's shared policy converter is sealed; configure a converter of your "
                "own with lawful.configure_converter and pass it as converter="
            )

    def register_structure_hook(self, *args: Any, **kwargs: Any) -> Any:
        self._refuse()
        return super().register_structure_hook(*args, **kwargs)

    def register_structure_hook_func(self, *args: Any, **kwargs: Any) -> Any:
        self._refuse()
        return super().register_structure_hook_func(*args, **kwargs)

    def register_structure_hook_factory(self, *args: Any, **kwargs: Any) -> Any:
        self._refuse()
        return super().register_structure_hook_factory(*args, **kwargs)

    def register_unstructure_hook(self, *args: Any, **kwargs: Any) -> Any:
        self._refuse()
        return super().register_unstructure_hook(*args, **kwargs)

    def register_unstructure_hook_func(self, *args: Any, **kwargs: Any) -> Any:
        self._refuse()
        return super().register_unstructure_hook_func(*args, **kwargs)

    def register_unstructure_hook_factory(self, *args: Any, **kwargs: Any) -> Any:
        self._refuse()
        return super().register_unstructure_hook_factory(*args, **kwargs)


@functools.cache
def _shared_converter() -> cattrs.Converter:
    """The sealed converter used when a caller passes none (made on first use)."""
    converter = _SealedConverter()
    configure_converter(converter)
    converter.seal()
    return converter


def configure_converter(converter: cattrs.Converter) -> None:
    """Teach ``converter`` lawful's types: durations, dates, enums, retention rules, purposes."""
    converter.register_structure_hook(str, _strict(str, "a string"))
    converter.register_structure_hook(int, _strict(int, "an integer"))
    converter.register_structure_hook(bool, _strict(bool, "true or false"))
    converter.register_structure_hook(Duration, _structure_duration)
    converter.register_unstructure_hook(Duration, str)
    converter.register_structure_hook(date, _structure_date)
    converter.register_unstructure_hook(date, lambda d: d.isoformat())
    # Registered after date: a datetime is a date, and the later hook wins.
    converter.register_structure_hook(datetime, _structure_instant)
    converter.register_unstructure_hook(datetime, lambda d: d.isoformat())
    converter.register_structure_hook_func(
        lambda t: isinstance(t, type) and issubclass(t, enum.Enum), _structure_enum
    )
    converter.register_unstructure_hook_func(
        lambda t: t is frozenset or getattr(t, "__origin__", None) is frozenset, sorted
    )

    def is_list_field(t: Any) -> bool:
        args = get_args(t)
        return get_origin(t) is tuple and len(args) == 2 and args[1] is Ellipsis

    def list_field(t: Any) -> Callable[[object, object], tuple[Any, ...]]:
        # cattrs would read "website" as the list of its letters; a list field wants a list.
        element: Any = get_args(t)[0]
        items = converter.get_structure_hook(list[element])

        def structure(value: object, _: object) -> tuple[Any, ...]:
            if not isinstance(value, list | tuple):
                raise TypeError(f"expected a list, got {_kind(value)}")
            return tuple(items(value, list))

        return structure

    converter.register_structure_hook_factory(is_list_field, list_field)

    def structure_rule(value: object, _: object) -> RetentionRule:
        if not isinstance(value, Mapping):
            raise TypeError(f"expected a table with a 'kind', got {_kind(value)}")
        body = dict(value)
        kind = body.pop("kind", None)
        cls = _RULE_KINDS.get(kind) if isinstance(kind, str) else None
        if cls is None:
            choices = ", ".join(repr(k) for k in _RULE_KINDS)
            raise ValueError(f"kind: expected one of {choices}, got {kind!r}")
        result: RetentionRule = converter.structure(body, cls)
        return result

    # The unstructure hooks (for writing policies) are made the first time one is needed:
    # cattrs compiles a function per class, and a load, which writes nothing, would pay.
    plain: dict[type[Any], Callable[[Any], dict[str, Any]]] = {}

    def unstructure_rule(rule: RetentionRule) -> dict[str, object]:
        cls = type(rule)
        if cls not in plain:
            plain[cls] = make_dict_unstructure_fn(cls, converter, _cattrs_omit_if_default=True)
        body: dict[str, object] = {"kind": _KIND_OF[cls]}
        body.update(plain[cls](rule))
        return body

    converter.register_structure_hook(RetentionRule, structure_rule)
    converter.register_unstructure_hook(RetentionRule, unstructure_rule)
    for cls in (AfterCollection, AfterLastInteraction, SessionEnd, NoPeriodStated):
        converter.register_unstructure_hook(cls, unstructure_rule)
    converter.register_structure_hook(
        Purpose,
        make_dict_structure_fn(
            Purpose, converter, _cattrs_forbid_extra_keys=True, context=override(omit=True)
        ),
    )
    parts = (
        DataCategory,
        Vendor,
        Retention,
        AgeRules,
        Contact,
        Signals,
        Entity,
        TcfBinding,
        SignalBinding,
        OptOutScope,
    )

    def unstructure_part(cls: type[Any]) -> Callable[[Any], dict[str, Any]]:
        if cls is Purpose:
            return make_dict_unstructure_fn(
                Purpose, converter, _cattrs_omit_if_default=True, context=override(omit=True)
            )
        return make_dict_unstructure_fn(cls, converter, _cattrs_omit_if_default=True)

    converter.register_unstructure_hook_factory(
        lambda t: t is Purpose or t in parts, unstructure_part
    )


# -- reading --------------------------------------------------------------------------------


def _problems(exc: BaseException, path: str) -> Iterator[Problem]:
    """Walk a cattrs exception group into problems with dotted paths."""
    if isinstance(exc, ClassValidationError | IterableValidationError):
        with_notes, without = exc.group_exceptions()
        for inner, note in with_notes:
            if isinstance(note, AttributeValidationNote):
                sub = f"{path}.{note.name}" if path else note.name
            elif isinstance(note.index, str):
                sub = f"{path}.{note.index}" if path else note.index
            else:
                sub = f"{path}[{note.index}]"
            yield from _problems(inner, sub)
        for inner in without:
            yield from _problems(inner, path)
    elif isinstance(exc, ForbiddenExtraKeysError):
        for key in sorted(exc.extra_fields):
            yield Problem(f"{path}.{key}" if path else key, "unknown key")
    elif isinstance(exc, PolicyError):  # a value object's own check: ``vendor.id`` -> ``id``
        for problem in exc.problems:
            field = problem.path.rpartition(".")[2]
            yield Problem(f"{path}.{field}" if path and field else path or field, problem.message)
    elif isinstance(exc, KeyError):
        yield Problem(path, "missing required key")
    elif isinstance(exc, ValueError | TypeError):
        message = str(exc)
        if ": " in message and message.split(": ", 1)[0].isidentifier():
            head, message = message.split(": ", 1)
            path = f"{path}.{head}" if path else head
        yield Problem(path, message)
    else:  # pragma: no cover - any other failure is still reported, never raised raw
        yield Problem(path, f"{type(exc).__name__}: {exc}")


def _structure(
    converter: cattrs.Converter, value: object, cls: type[Any], path: str, out: list[Problem]
) -> Any:
    try:
        return converter.structure(value, cls)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a Problem with its path
        out.extend(_problems(exc, path))
        return None


def _keyed(
    converter: cattrs.Converter,
    table: object,
    cls: type[Any],
    path: str,
    out: list[Problem],
    stand_in: Callable[[str], Any],
) -> list[Any]:
    """A table keyed by id -> a list of values (the key becomes ``id``).

    An entry that does not structure is reported, and a ``stand_in(id)`` takes its place,
    so that the cross-reference checks that follow neither miss the rest of the file nor
    report a reference to it as undeclared.
    """
    if not isinstance(table, Mapping):
        out.append(Problem(path, f"expected a table keyed by id, got {_kind(table)}"))
        return []
    items = []
    for key, body in table.items():
        where = f"{path}.{key}"
        value = None
        if not isinstance(body, Mapping):
            out.append(Problem(where, f"expected a table, got {_kind(body)}"))
        elif "id" in body:
            out.append(Problem(f"{where}.id", "unknown key (the table's key is the id)"))
        else:
            value = _structure(converter, {**body, "id": key}, cls, where, out)
        items.append(stand_in(str(key)) if value is None else value)
    return items


# What stands in for an entry that failed to structure: declared, and raising no problem
# of its own in the semantic checks (its own problems are already reported).
_STAND_INS: dict[str, Callable[[str], Any]] = {
    "purposes": lambda key: Purpose(
        key, key, key, LegalBasis.LEGAL_OBLIGATION, retention=Retention((NoPeriodStated(),))
    ),
    "data_categories": lambda key: DataCategory(key, key),
    "vendors": lambda key: Vendor(key, key),
}
_STAND_IN_TABLES: dict[str, Callable[[str], Any]] = {
    "entities": Entity,
    "opt_out_scopes": OptOutScope,
    "subject_categories": lambda key: key,
}


_TOP_KEYS = {
    "version",
    "id",
    "policy_version",
    "title",
    "updated",
    "purposes",
    "data_categories",
    "vendors",
    "entities",
    "controllers",
    "subject_categories",
    "contact",
    "age",
    "unknown_subject_category",
    "opt_out_scopes",
    "signals",
    "security_measures",
    "previous_versions",
    "effective_from",
}


def policy_from_dict(
    data: Mapping[str, object],
    *,
    source: str | None = None,
    converter: cattrs.Converter | None = None,
) -> Policy:
    """Build a :class:`Policy` from the file shape, reporting every problem at once."""
    conv = converter or _shared_converter()
    out: list[Problem] = []
    if not isinstance(data, Mapping):
        raise PolicyError([Problem("", f"expected a table, got {_kind(data)}")], source)
    out.extend(Problem(key, "unknown key") for key in sorted(set(data) - _TOP_KEYS))
    version = data.get("version")
    if version is None:
        out.append(
            Problem("version", f'missing required key (the format version, "{FORMAT_VERSION}")')
        )
    elif (
        not isinstance(version, str | int)
        or str(version).split(".")[0] != FORMAT_VERSION.split(".")[0]
    ):
        out.append(
            Problem(
                "version",
                f"unsupported policy format version {version!r}; this lawful reads "
                f"{FORMAT_VERSION.split('.')[0]}.x",
            )
        )
        raise PolicyError(out, source)
    kwargs: dict[str, Any] = {}
    for key, field in (("id", "id"), ("policy_version", "version")):
        if key not in data:
            out.append(Problem(key, "missing required key"))
        else:
            kwargs[field] = _structure(conv, data[key], str, key, out)
    simple: dict[str, Any] = {
        "title": str,
        "updated": date,
        "effective_from": datetime,
        "entities": dict[str, Entity],
        "controllers": dict[str, tuple[str, ...]],
        "subject_categories": dict[str, str],
        "contact": Contact,
        "age": AgeRules,
        "unknown_subject_category": UnknownSubjectCategory,
        "opt_out_scopes": dict[str, OptOutScope],
        "signals": Signals,
        "security_measures": tuple[str, ...],
    }
    for key, cls in simple.items():
        if key in data:
            kwargs[key] = _structure(conv, data[key], cls, key, out)
            table = data[key]
            if kwargs[key] is None and key in _STAND_IN_TABLES and isinstance(table, Mapping):
                kwargs[key] = {str(k): _STAND_IN_TABLES[key](str(k)) for k in table}
    for key, cls in (("purposes", Purpose), ("data_categories", DataCategory), ("vendors", Vendor)):
        kwargs[key] = _keyed(conv, data.get(key, {}), cls, key, out, _STAND_INS[key])
    previous = data.get("previous_versions", [])
    if not isinstance(previous, list):
        out.append(Problem("previous_versions", f"expected a list, got {_kind(previous)}"))
    else:
        kwargs["previous_versions"] = [
            v
            for i, item in enumerate(previous)
            if (v := _structure(conv, item, PolicyVersion, f"previous_versions[{i}]", out))
            is not None
        ]
    if not out:
        try:
            return Policy(**{k: v for k, v in kwargs.items() if v is not None})
        except PolicyError as exc:
            raise PolicyError(exc.problems, source) from None
    # Structural problems found: the cross-reference checks still run on what could be
    # read (stand-ins in place of the rest), so that one PolicyError lists everything an
    # author must fix, not the first kind of mistake only.
    out.extend(p for p in _semantic_problems(kwargs) if p not in out)
    raise PolicyError(out, source)


def _semantic_problems(kwargs: Mapping[str, Any]) -> list[Problem]:
    built = {k: v for k, v in kwargs.items() if v is not None}
    # A missing id or version is already reported; a stand-in keeps it from being twice.
    built.setdefault("id", "policy")
    built.setdefault("version", "unknown")
    try:
        Policy(**built)
    except PolicyError as exc:
        return list(exc.problems)
    except Exception:  # noqa: BLE001 - a shape too broken to check further: its problems are out
        return []
    return []


def policy_to_dict(policy: Policy, converter: cattrs.Converter | None = None) -> dict[str, object]:
    """The file shape of ``policy`` (what :func:`policy_from_dict` reads back)."""
    conv = converter or _shared_converter()
    out: dict[str, object] = {"version": FORMAT_VERSION, "id": policy.id}
    out["policy_version"] = policy.version
    if policy.title:
        out["title"] = policy.title
    if policy.updated is not None:
        out["updated"] = policy.updated.isoformat()

    def keyed(items: tuple[Any, ...], cls: type[Any]) -> dict[str, object]:
        table: dict[str, object] = {}
        for item in items:
            body = conv.unstructure(item, cls)
            body.pop("id", None)
            table[item.id] = body
        return table

    out["data_categories"] = keyed(policy.data_categories, DataCategory)
    out["vendors"] = keyed(policy.vendors, Vendor)
    out["purposes"] = keyed(policy.purposes, Purpose)
    defaults = Policy(id="x", version="x")
    for key, cls in (
        ("entities", dict[str, Entity]),
        ("controllers", dict[str, tuple[str, ...]]),
        ("subject_categories", dict[str, str]),
        ("contact", Contact),
        ("age", AgeRules),
        ("unknown_subject_category", UnknownSubjectCategory),
        ("opt_out_scopes", dict[str, OptOutScope]),
        ("signals", Signals),
        ("security_measures", tuple[str, ...]),
        ("effective_from", datetime),
    ):
        value = getattr(policy, key)
        if value != getattr(defaults, key):
            out[key] = conv.unstructure(value, cls)
    if policy.previous_versions:
        out["previous_versions"] = [
            conv.unstructure(v, PolicyVersion) for v in policy.previous_versions
        ]
    cleaned: dict[str, object] = _drop_none(out)
    return cleaned


def _drop_none(value: Any) -> Any:
    """TOML has no null: optional fields left unset are simply absent."""
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_drop_none(v) for v in value]
    return value


# -- text and files -------------------------------------------------------------------------


class _Table(dict[str, Any]):
    """A JSON object that remembers the keys it saw twice."""

    duplicates: tuple[str, ...] = ()


def _pairs(pairs: list[tuple[str, Any]]) -> _Table:
    table = _Table(pairs)
    if len(table) != len(pairs):
        counts = Counter(key for key, _ in pairs)
        table.duplicates = tuple(key for key, count in counts.items() if count > 1)
    return table


def _duplicate_keys(value: object, path: str) -> Iterator[Problem]:
    """JSON silently keeps the last of two equal keys; a policy file must not."""
    if isinstance(value, _Table):
        for key in value.duplicates:
            yield Problem(f"{path}.{key}" if path else key, f'duplicate key "{key}"')
        for key, inner in value.items():
            yield from _duplicate_keys(inner, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _duplicate_keys(inner, f"{path}[{index}]")


def loads_policy(
    text: str, *, format: Literal["toml", "json"] = "toml", source: str | None = None
) -> Policy:
    """Read a policy from TOML or JSON text.

    Raises:
        PolicyError: The text does not parse, or the policy is invalid; every problem
            is listed with its path (and, for a syntax error, its line).
        InputLimitError: Over 16 MiB, nested deeper than 32 levels, or an integer too
            long (see docs/explanation/fail-closed.md).
    """
    where = source or "policy"
    if format == "toml":
        try:
            data = loads_toml(text, where)
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError([Problem("", f"not valid TOML: {exc}")], source) from None
    elif format == "json":
        try:
            data = loads_json(text, where, object_pairs_hook=_pairs)
        except json.JSONDecodeError as exc:
            raise PolicyError([Problem("", f"not valid JSON: {exc}")], source) from None
        if duplicates := list(_duplicate_keys(data, "")):
            raise PolicyError(duplicates, source)
    else:
        raise ValueError(f"format: expected 'toml' or 'json', got {format!r}")
    return policy_from_dict(data, source=source)


def load_policy(path: str | Path) -> Policy:
    """Read a policy file; the format follows the suffix (``.json``, else TOML).

    Raises:
        PolicyError: The file is invalid, or not UTF-8 text.
        InputLimitError: The file is over 16 MiB (at most that much is read).
        FileNotFoundError: There is no such file.
    """
    file = Path(path)
    try:
        text = read_bounded(file, what="policy file").decode("utf-8")
    except UnicodeDecodeError as exc:
        problem = Problem("", f"not UTF-8 text (byte {exc.start + 1})")
        raise PolicyError([problem], str(file)) from None
    fmt: Literal["toml", "json"] = "json" if file.suffix.lower() == ".json" else "toml"
    return loads_policy(text, format=fmt, source=str(file))


def dumps_policy(policy: Policy, *, format: Literal["toml", "json"] = "toml") -> str:
    """Write a policy as TOML or JSON text that :func:`loads_policy` reads back equal."""
    data = policy_to_dict(policy)
    if format == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return tomli_w.dumps(data)
