"""Every statement of a PostgreSQL ledger, composed once per schema with its quoted name.

See :mod:`lawful.ledger._pgview` for the transactions that run them.
"""

from __future__ import annotations

import hashlib

import attrs
from psycopg import sql

__all__ = ["Queries", "channel_name"]

_COLUMNS = "seq, kind, subject_tag, id_tag, nonce, payload, digest, mac, link"
_STORED = _COLUMNS + ", key_id"


def channel_name(schema: str) -> str:
    """The ``LISTEN`` channel of a ledger schema (an identifier of at most 63 bytes)."""
    return "lawful_ledger_" + hashlib.sha256(schema.encode("utf-8")).hexdigest()[:24]


@attrs.frozen
class Queries:
    """Every statement, composed once with the schema's quoted name."""

    meta: sql.SQL
    set_meta: sql.SQL
    drop_meta: sql.SQL
    by_id: sql.SQL
    by_ids: sql.SQL
    by_subject: sql.SQL
    after: sql.SQL
    tail: sql.SQL
    shard_tails: sql.SQL
    shard_scan: sql.SQL
    shard_heads: sql.SQL
    newest_before: sql.SQL
    at_seqs: sql.SQL
    keys_of: sql.SQL
    shred: sql.SQL
    insert_keys: sql.SQL
    encrypt_rows: sql.SQL
    vacuum_keys: sql.SQL
    remove_all: sql.SQL
    repair_shards: sql.SQL
    tip: sql.SQL
    tips: sql.SQL
    heads: sql.SQL
    set_heads: sql.SQL
    rewrite: sql.SQL
    triggers: sql.SQL
    enable_triggers: sql.SQL
    scan: sql.SQL
    insert: sql.SQL
    scrub: sql.SQL
    lock: sql.SQL
    all_meta: sql.SQL
    vacuum: sql.SQL
    purged: sql.SQL
    listen: sql.SQL
    channel: str

    @classmethod
    def build(cls, schema: str, *, vacuum_full: bool, shards: int) -> Queries:
        def q(text: str) -> sql.SQL:
            # Rendered once: a write then sends text, not a tree psycopg walks each time.
            composed = sql.SQL(text).format(schema=sql.Identifier(schema), shards=shards)
            return sql.SQL(composed.as_string(None))

        # Constant text only; the schema goes in through sql.Identifier, quoted. Every
        # record comes with its key id and its subject's wrapped data key (NULL once
        # destroyed: the record reads as erased), see lawful.ledger._pgcrypt.
        columns = (
            "r.seq, r.kind, r.subject_tag, r.id_tag, r.nonce, r.payload, r.digest, r.mac, r.link"
        )
        keyed = " LEFT JOIN {schema}.ledger_keys AS k ON k.key_id = r.key_id"
        plain = (
            f"SELECT {columns}, NULL::bytea, r.key_id, k.wrapped"  # noqa: S608 - constant
            " FROM {schema}.ledger_records AS r" + keyed
        )
        # Each record with the stored MAC of the one before it in its shard, to verify it
        # alone (``shards`` is an int, formatted as a literal).
        linked = " LEFT JOIN {schema}.ledger_records AS p ON p.seq = r.seq - {shards}" + keyed
        records = (
            f"SELECT {columns}, p.mac, r.key_id, k.wrapped"  # noqa: S608 - constant
            " FROM {schema}.ledger_records AS r" + linked
        )
        tips = (
            "SELECT s.subject_tag, s.seq, s.seal, r.mac FROM {schema}.ledger_subjects AS s"
            " LEFT JOIN {schema}.ledger_records AS r"
            " ON r.seq = s.seq AND r.subject_tag = s.subject_tag"
        )
        channel = channel_name(schema)
        return cls(
            meta=q("SELECT value FROM {schema}.ledger_meta WHERE name = %s"),
            set_meta=q(
                "INSERT INTO {schema}.ledger_meta (name, value) VALUES (%s, %s)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value"
            ),
            drop_meta=q("DELETE FROM {schema}.ledger_meta WHERE name = ANY(%s)"),
            by_id=q(records + " WHERE r.id_tag = %s"),
            by_ids=q(records + " WHERE r.id_tag = ANY(%s)"),
            by_subject=q(records + " WHERE r.subject_tag = %s ORDER BY r.seq"),
            after=q(records + " WHERE r.subject_tag = %s AND r.seq > %s ORDER BY r.seq"),
            tail=q(records + " ORDER BY r.seq DESC LIMIT 1"),
            # Each shard's last record, found through (shard, seq).
            shard_tails=q(
                f"SELECT {columns}, p.mac, r.key_id, k.wrapped"  # noqa: S608 - constant
                " FROM unnest(%s::integer[]) AS t (shard)"
                " CROSS JOIN LATERAL (SELECT * FROM {schema}.ledger_records AS x"
                " WHERE x.shard = t.shard ORDER BY x.seq DESC LIMIT 1) AS r" + linked
            ),
            shard_scan=q(plain + " WHERE r.shard = %s AND r.seq > %s ORDER BY r.seq"),
            shard_heads=q(
                "SELECT subject_tag, seq, seal FROM {schema}.ledger_subjects"
                " WHERE shard = %s AND seq > %s"
            ),
            newest_before=q(
                "SELECT t.tag, (SELECT max(r.seq) FROM {schema}.ledger_records AS r"
                " WHERE r.subject_tag = t.tag AND r.seq <= %s)"
                " FROM unnest(%s::bytea[]) AS t (tag)"
            ),
            at_seqs=q(records + " WHERE r.seq = ANY(%s)"),
            keys_of=q(
                "SELECT key_id, subject_tag, proof, wrapped FROM {schema}.ledger_keys"
                " WHERE subject_tag = ANY(%s)"
            ),
            # An erasure of records (one subject's), in one statement: delete every key of
            # theirs that no other record of the subject holding content needs (found
            # through the subject's index), and return how many went and the records left
            # to scrub in place (in clear, or sharing a key with a record kept).
            shred=q(
                "WITH erased AS (SELECT seq, subject_tag, key_id FROM {schema}.ledger_records"
                " WHERE seq = ANY(%(seqs)s)),"
                " gone AS (DELETE FROM {schema}.ledger_keys AS k"
                " WHERE k.key_id IN (SELECT key_id FROM erased) AND NOT EXISTS (SELECT 1"
                " FROM {schema}.ledger_records AS r WHERE r.subject_tag IN"
                " (SELECT subject_tag FROM erased) AND r.key_id = k.key_id"
                " AND r.payload IS NOT NULL AND r.seq <> ALL(%(seqs)s)) RETURNING k.key_id)"
                " SELECT (SELECT count(*) FROM gone), array(SELECT e.seq FROM erased AS e"
                " WHERE e.key_id IS NULL OR e.key_id NOT IN (SELECT key_id FROM gone)"
                " ORDER BY e.seq)"
            ),
            insert_keys=q(
                "INSERT INTO {schema}.ledger_keys (key_id, subject_tag, proof, wrapped) VALUES "
            ),
            encrypt_rows=q(
                "UPDATE {schema}.ledger_records AS r SET nonce = NULL, payload = v.payload,"
                " key_id = v.key_id FROM unnest(%s::bigint[], %s::bytea[], %s::bytea[])"
                " AS v (seq, payload, key_id) WHERE r.seq = v.seq"
            ),
            vacuum_keys=q("VACUUM {schema}.ledger_keys"),
            remove_all=q("DELETE FROM {schema}.ledger_records"),
            repair_shards=q(
                "INSERT INTO {schema}.ledger_shards (shard)"
                " SELECT generate_series(0, {shards} - 1) ON CONFLICT DO NOTHING"
            ),
            tip=q(tips + " WHERE s.subject_tag = %s"),
            tips=q(tips + " WHERE s.subject_tag = ANY(%s)"),
            heads=q("SELECT subject_tag, seq, seal FROM {schema}.ledger_subjects"),
            # Followed by one (%s, %s, %s) per subject (a subject appears once) and _UPSERT.
            set_heads=q(
                "INSERT INTO {schema}.ledger_subjects (subject_tag, seq, seal, shard) VALUES "
            ),
            rewrite=q("UPDATE {schema}.ledger_records SET link = %s, mac = %s WHERE seq = %s"),
            triggers=q("ALTER TABLE {schema}.ledger_records DISABLE TRIGGER USER"),
            enable_triggers=q("ALTER TABLE {schema}.ledger_records ENABLE TRIGGER USER"),
            scan=q(plain + " ORDER BY r.seq"),
            insert=q(f"INSERT INTO {{schema}}.ledger_records (shard, {_STORED}) VALUES "),  # noqa: S608 - constant
            scrub=q(
                "UPDATE {schema}.ledger_records SET nonce = NULL, payload = NULL"
                " WHERE seq = ANY(%s)"
            ),
            lock=q(
                "SELECT shard FROM {schema}.ledger_shards WHERE shard = ANY(%s)"
                " ORDER BY shard FOR UPDATE"
            ),
            all_meta=q("SELECT name, value FROM {schema}.ledger_meta"),
            vacuum=q(("VACUUM (FULL) " if vacuum_full else "VACUUM ") + "{schema}.ledger_records"),
            purged=q("DELETE FROM {schema}.ledger_meta WHERE name = %s AND value = %s"),
            listen=sql.SQL(sql.SQL("LISTEN {}").format(sql.Identifier(channel)).as_string(None)),
            channel=channel,
        )
