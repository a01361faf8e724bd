"""The ``render``, ``ropa`` and ``diff`` commands (registered through ``lawful.cli._EXTENSIONS``).

``lawful render POLICY`` prints the privacy and consent settings text,
``lawful ropa POLICY`` the Art. 30 record of processing activities, and
``lawful diff OLD NEW`` what a new version changes, per purpose, and whose consents
it makes stale. Exit status of ``diff``: 0 when every consent given under OLD stays
valid, 1 when some must be asked again, 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import sys

from lawful.cli import Subparsers, add_policy_argument, resolve_policy, say
from lawful.render import diff, render_ropa, render_settings

__all__ = ["register"]


def _write(text: str) -> None:
    # The rendered texts end with a newline already; ``say`` would add another.
    sys.stdout.write(text)


def _render(args: argparse.Namespace) -> int:
    _write(render_settings(resolve_policy(args.policy), format=args.format))
    return 0


def _ropa(args: argparse.Namespace) -> int:
    _write(render_ropa(resolve_policy(args.policy), format=args.format))
    return 0


def _diff(args: argparse.Namespace) -> int:
    report = diff(resolve_policy(args.old), resolve_policy(args.new))
    if args.format == "json":
        say(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        _write(report.to_markdown())
    return 1 if report.must_ask_again else 0


def register(subparsers: Subparsers) -> None:
    """Add ``render``, ``ropa`` and ``diff`` to the ``lawful`` command line."""
    render = subparsers.add_parser(
        "render",
        help="print the privacy and consent settings text of a policy",
        description=(
            "Print the privacy and consent settings text of a policy, per purpose: what for, "
            "which data, which third parties, where, how long, on which basis, and how to "
            "withdraw or object. 'not stated' marks what the policy does not say."
        ),
    )
    add_policy_argument(render)
    render.add_argument(
        "--format", choices=("markdown", "html"), default="markdown", help="default: markdown"
    )
    render.set_defaults(handler=_render)

    ropa = subparsers.add_parser(
        "ropa",
        help="print the Art. 30 record of processing activities of a policy",
        description=(
            "Print an Art. 30(1) record of processing activities, one entry per purpose: "
            "controllers, purposes, categories of data subjects and of personal data, "
            "recipients, transfers and their safeguards, retention and security measures; "
            "'not stated' where the policy is silent."
        ),
    )
    add_policy_argument(ropa)
    ropa.add_argument("--format", choices=("csv", "markdown"), default="csv", help="default: csv")
    ropa.set_defaults(handler=_ropa)

    compare = subparsers.add_parser(
        "diff",
        help="compare two policy versions and list whose consents become stale",
        description=(
            "Compare two versions of a policy, purpose by purpose: what changed, and whether "
            "consents given under OLD stay valid under NEW (a new vendor or data category, a "
            "changed basis or statement, or an unknown version makes them stale; removing a "
            "vendor does not). Exit status: 0 every consent stays valid, 1 some people must "
            "be asked again, 2 bad usage or input."
        ),
    )
    compare.add_argument("old", metavar="OLD", help="the policy people consented under")
    compare.add_argument("new", metavar="NEW", help="the policy about to be published")
    compare.add_argument(
        "--format", choices=("markdown", "json"), default="markdown", help="default: markdown"
    )
    compare.set_defaults(handler=_diff)
