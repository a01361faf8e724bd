"""The ``banner`` command (registered through ``lawful.cli._EXTENSIONS``).

``lawful banner POLICY`` prints the JSON a consent banner needs;
``lawful banner POLICY --html`` prints the reference banner page with it inline.
"""

from __future__ import annotations

import argparse
import json
import sys

from lawful.banner import banner_data, banner_page
from lawful.cli import Subparsers, add_policy_argument, resolve_policy, say

__all__ = ["register"]


def _banner(args: argparse.Namespace) -> int:
    policy = resolve_policy(args.policy)
    options = {"notice_url": args.notice_url, "subject_category": args.subject_category}
    if args.html:
        sys.stdout.write(
            banner_page(policy, endpoint=args.endpoint, decisions=args.decisions, **options)
        )
    else:
        say(json.dumps(banner_data(policy, **options), indent=2, ensure_ascii=False))
    return 0


def register(subparsers: Subparsers) -> None:
    """Add ``banner`` to the ``lawful`` command line."""
    parser = subparsers.add_parser(
        "banner",
        help="print what a consent banner asks, as JSON (or the reference banner page)",
        description=(
            "Print the purposes of a policy that need consent, with their statements, "
            "data, vendors and where they host, device access, retention and how to "
            "withdraw, as the JSON a consent banner reads; with --html, a complete page "
            "with the reference banner that posts choices to the consent endpoint of "
            "lawful.contrib.django or lawful.contrib.fastapi."
        ),
    )
    add_policy_argument(parser)
    parser.add_argument("--notice-url", metavar="URL", help="where the full notice is published")
    parser.add_argument(
        "--subject-category",
        metavar="CATEGORY",
        help="only purposes covering this data-subject category, such as visitor",
    )
    parser.add_argument("--html", action="store_true", help="print the reference banner page")
    parser.add_argument(
        "--endpoint", default="/lawful/consent", help="the consent endpoint (with --html)"
    )
    parser.add_argument(
        "--decisions", default="/lawful/decisions", help="the decisions endpoint (with --html)"
    )
    parser.set_defaults(handler=_banner)
