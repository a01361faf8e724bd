"""The bounds of a PostgreSQL ledger: how long a writer may wait and hold, how many
connections it opens, and the server settings that make the server enforce them.

See :mod:`lawful.ledger._pgstore` for the store and ``docs/postgres.md`` for the why.
"""

from __future__ import annotations

import attrs
from psycopg import sql

from lawful.exceptions import LedgerError

__all__ = ["Limits"]


@attrs.frozen
class Limits:
    """How long a writer may wait and hold, and how many connections a ledger opens.

    Attributes:
        hold_timeout: Seconds a write transaction may stay silent while it holds the
            chain (``idle_in_transaction_session_timeout``); also drives the server's
            TCP keepalives, so that a vanished client is dropped within about
            ``hold_timeout + 3`` seconds.
        lock_timeout: Seconds a writer waits for the chain before giving up.
        transaction_timeout: On PostgreSQL 17 and later, the longest a write
            transaction may last, waiting included (0: no limit).
        max_connections: Connections open at once for reads and writes (the listener's
            one is extra).
        pool_timeout: Seconds a caller waits for a free connection.
    """

    hold_timeout: float = 5.0
    lock_timeout: float = 10.0
    transaction_timeout: float = 60.0
    max_connections: int = 10
    pool_timeout: float = 10.0

    def check(self) -> None:
        """Refuse settings that would switch a bound off by accident.

        Raises:
            LedgerError: A timeout not above 0 (``transaction_timeout`` may be 0), or
                ``max_connections`` below 1.
        """
        timeouts = (self.hold_timeout, self.lock_timeout, self.pool_timeout)
        if not all(t > 0 for t in timeouts) or not self.transaction_timeout >= 0:
            raise LedgerError(
                "postgres: hold_timeout, lock_timeout and pool_timeout must be above 0 and "
                f"transaction_timeout not negative, got {timeouts} and "
                f"{self.transaction_timeout!r}"
            )
        if self.max_connections < 1:
            raise LedgerError(
                f"postgres: max_connections must be at least 1, got {self.max_connections!r}"
            )

    def options(self) -> str:
        """The server settings every connection asks for (libpq ``options``).

        The server, not the client, must notice a client that vanished: it holds the
        lock. Keepalive probes start after ``hold_timeout`` seconds of silence, one a
        second, three unanswered drop it; ``tcp_user_timeout`` does the same for data
        the server sent and nobody acknowledged.
        """
        idle = max(1, round(self.hold_timeout))
        return (
            f"-c tcp_keepalives_idle={idle} -c tcp_keepalives_interval=1"
            f" -c tcp_keepalives_count=3 -c tcp_user_timeout={(idle + 3) * 1000}"
        )

    def prelude(self, server_version: int) -> sql.SQL:
        """The write transaction's bounds, set for it alone (``set_config(..., true)``, as
        ``SET LOCAL``) in one statement, sent before it asks for the lock.
        """
        hold = _ms(self.hold_timeout)
        lock = _ms(self.lock_timeout)
        settings = [
            ("lock_timeout", lock),
            # A writer's statements are short; this one covers the wait for the lock.
            ("statement_timeout", lock + hold),
            ("idle_in_transaction_session_timeout", hold),
        ]
        if server_version >= 170000:
            # Caps the whole transaction, whatever the client does: one that sends a
            # byte now and then is never idle. (A client stopped half-way through a
            # message is ended by the idle timeout: it runs while the server waits for
            # the rest; tested on PostgreSQL 15.)
            settings.append(("transaction_timeout", _ms(self.transaction_timeout)))
        calls = sql.SQL(", ").join(
            sql.SQL("set_config({}, {}, true)").format(sql.Literal(name), sql.Literal(str(value)))
            for name, value in settings
        )
        return sql.SQL((sql.SQL("SELECT ") + calls).as_string(None))


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000)) if seconds > 0 else 0
