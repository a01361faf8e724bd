"""Sphinx configuration: MyST pages, furo, API reference from docstrings, offline.

The build runs with ``-W --keep-going -n``: every warning and every unresolved
cross-reference fails it. Nothing is fetched (no intersphinx): names from outside
lawful (the standard library, attrs, hypothesis) are listed in ``nitpick_ignore_regex``
instead of being linked.
"""

from __future__ import annotations

import importlib
import re
import sys
import types
from pathlib import Path
from typing import TYPE_CHECKING

from sphinx.util import logging
from sphinx.util.nodes import make_refnode

if TYPE_CHECKING:
    from docutils.nodes import Element, Node
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

project = "lawful"
author = "The lawful developers"
copyright = "the lawful developers"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
]

source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "howto/examples", "Thumbs.db", ".DS_Store"]
root_doc = "index"

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = "lawful"

# lawful.tables.spark is documented without PySpark (a JVM's worth of it) installed.
autodoc_mock_imports = ["pyspark"]
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": True}
autoclass_content = "class"
# Attributes listed in Napoleon's "Attributes:" become :ivar: fields rather than
# separate objects, which would duplicate the attrs fields autodoc already sees.
napoleon_use_ivar = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False

nitpicky = True
# Standard-library and third-party names are not linked (no network: no intersphinx).
nitpick_ignore_regex = [
    (r"py:.*", r"(datetime|collections\.abc|typing|enum|pathlib|re|sqlite3|io|os)\..*"),
    (r"py:.*", r"(attrs|attr|cattrs|hypothesis|psycopg|pyarrow|pa|duckdb|pyspark)(\..*)?"),
    (r"py:.*", r"(django|starlette|fastapi|anyio)(\..*)?"),
    (r"py:.*", r"DataFrame"),  # pyspark.sql.DataFrame, named under TYPE_CHECKING
    (r"py:.*", r"Plan"),  # lawful._engine.plan.Plan: CompiledPurpose.plan, the engine's own
    (r"py:.*", r"(datetime|date|tzinfo|timedelta|Path|Mapping|Iterable|Iterator|Sequence)"),
    (r"py:.*", r"(Callable|Hashable|ClassVar|Literal|TypeAlias|Any|Self|Enum)"),
    (r"py:.*", r"(SearchStrategy|Converter|Attribute|StrEnum|InvalidArgument)"),
    # An attribute named in prose (``:attr:`wire```) is an "Attributes:" field, not an object.
    (r"py:attr", r"\w+"),
]

# Private names (a base class such as lawful.events._EventBase) are not documented.
nitpick_ignore_regex.append((r"py:.*", r"lawful\.(\w+\.)*_\w+(\..*)?"))


def _keep_attribute_prose(
    _app: Sphinx, what: str, _name: str, _obj: object, _options: object, lines: list[str]
) -> None:
    """Napoleon reads ``text: more`` on an attribute's first line as ``type: description``.

    lawful's types live in annotations, and its member docstrings start with an
    article (``Art. 6(1)(a): ...``): an empty type in front keeps the prose whole.
    """
    if what in {"attribute", "data", "property"} and lines and ":" in lines[0]:
        lines[0] = ": " + lines[0]


_ENUM_REPR = re.compile(r"<(\w+\.\w+): [^<>]*>")


def _readable_defaults(
    _app: Sphinx,
    _what: str,
    _name: str,
    _obj: object,
    _options: object,
    signature: str | None,
    return_annotation: str | None,
) -> tuple[str | None, str | None]:
    """Write enum defaults as ``AgeScope.CONSENT_PURPOSES``, not their ``<...>`` repr.

    A ``<...>`` default is not Python, so Sphinx would give up parsing the whole
    signature and leave its annotations unlinked.
    """
    if signature is not None:
        signature = _ENUM_REPR.sub(r"\1", signature)
    return signature, return_annotation


DOCS = Path(__file__).resolve().parent
TOPICS = ("events", "ledger", "signals", "testing", "postgres", "performance")
"""Topic pages other parts of the project contribute; listed once they exist."""


def _unexported_exceptions() -> str:
    """Autodoc directives for the exceptions of lawful.exceptions that lawful does not export."""
    exceptions = importlib.import_module("lawful.exceptions")
    exported = set(importlib.import_module("lawful").__all__)
    names = [
        name
        for name, value in vars(exceptions).items()
        if isinstance(value, type)
        and issubclass(value, BaseException)
        and value.__module__ == exceptions.__name__
        and name not in exported
    ]
    lines = [f".. autoexception:: lawful.exceptions.{name}" for name in names]
    return "```{eval-rst}\n" + "\n\n".join(lines) + "\n```" if lines else ""


def _present_topics(_app: Sphinx, docname: str, source: list[str]) -> None:
    """Fill the index's topics toctree with the topic pages that exist, and list in the
    API reference the exceptions that lawful does not export (raised all the same).
    """
    if docname == "reference/api":
        source[0] = source[0].replace("<!-- unexported exceptions -->", _unexported_exceptions())
    if docname == "index":
        listed = set(source[0].split())
        present = [t for t in TOPICS if (DOCS / f"{t}.md").exists() and t not in listed]
        source[0] = source[0].replace("<!-- topic pages -->", "\n".join(present))


def _resolve(app: Sphinx, env: BuildEnvironment, node: Element, contnode: Element) -> Node | None:
    """Resolve what the defaults cannot, or leave it to ``-n`` to report.

    - A link to a topic page that does not exist (yet) becomes plain text.
    - ``lawful._module.Name`` (a private path), a bare ``Name`` or a short
      ``Class.method`` in a docstring link to the one documented lawful object of that
      name, if there is exactly one.
    """
    target = str(node.get("reftarget", ""))
    if node.get("refdomain") == "std" and node.get("reftype") == "doc":
        if target.rsplit("/", 1)[-1] in TOPICS:
            return contnode
        return None
    if node.get("refdomain") != "py" or not target:
        return None
    objects = env.get_domain("py").objects  # type: ignore[attr-defined]
    # A private path is matched by its last name; a short one (``LedgerKey.from_file``)
    # by its whole dotted tail.
    tail = "." + (target.rsplit(".", 1)[-1] if target.startswith("lawful.") else target)
    found = {
        (entry.docname, entry.node_id): name
        for name, entry in objects.items()
        if name.startswith("lawful.") and (name == target or name.endswith(tail))
    }
    if len(found) != 1:
        return None
    (docname, node_id), name = found.popitem()
    return make_refnode(app.builder, str(node["refdoc"]), docname, node_id, contnode, name)


PUBLIC_MODULES = (
    "lawful",
    "lawful.render",
    "lawful.picture",
    "lawful.ledger",
    "lawful.ledger.postgres",
    "lawful.signals",
    "lawful.signals.tcf",
    "lawful.signals.gpc",
    "lawful.signals.consent_mode",
    "lawful.signals.piwik_pro",
    "lawful.strategies",
)
"""Modules whose every public name (``__all__``) the reference must document."""


def _every_public_name(_app: Sphinx, env: BuildEnvironment) -> None:
    """Warn (an error under -W) about a public name the reference leaves out."""
    documented = set(env.get_domain("py").objects)  # type: ignore[attr-defined]
    log = logging.getLogger(__name__)
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            if isinstance(getattr(module, name), types.ModuleType):
                continue
            if not any(
                key == f"{module_name}.{name}"
                or (key.startswith(f"{module_name}.") and key.endswith(f".{name}"))
                for key in documented
            ):
                log.warning("%s.%s is public but missing from the reference", module_name, name)


def setup(app: Sphinx) -> None:
    """Connect the hooks; the docstring one runs before napoleon (priority 500)."""
    app.connect("autodoc-process-docstring", _keep_attribute_prose, priority=400)
    app.connect("autodoc-process-signature", _readable_defaults)
    app.connect("source-read", _present_topics)
    app.connect("missing-reference", _resolve)
    app.connect("env-check-consistency", _every_public_name)
