"""A retention sweep as a Spark job: keep the hits that may still be used for a purpose.

    spark-submit sweep_job.py --policy piwik-pro --events events.parquet \
        --hits hits.parquet --purpose analytics --at 2025-08-01T00:00:00Z --out kept

Reads events and hits from Parquet, writes the hits that may be processed to ``--out``
(Parquet, the hits' own columns), and prints how many rows each reason code decided.
"""

from __future__ import annotations

import argparse
from datetime import datetime

from pyspark.sql import SparkSession

from lawful.cli import resolve_policy
from lawful.tables.spark import sweep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", required=True, help="a policy file or a bundled name")
    parser.add_argument("--events", required=True, help="events, Parquet (lawful.tables shape)")
    parser.add_argument("--hits", required=True, help="hits, Parquet: subject, collected_at")
    parser.add_argument("--purpose", required=True)
    parser.add_argument("--at", required=True, help="ISO 8601 with an offset")
    parser.add_argument("--out", required=True, help="where the kept hits go (Parquet)")
    args = parser.parse_args()

    at = datetime.fromisoformat(args.at)
    policy = resolve_policy(args.policy)
    spark = (
        SparkSession.builder.appName(f"lawful sweep {args.purpose}")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    events = spark.read.parquet(args.events)
    hits = spark.read.parquet(args.hits)
    swept = sweep(policy, events, hits, purpose=args.purpose, at=at).cache()
    swept.where("allowed").drop("allowed", "code").write.mode("overwrite").parquet(args.out)
    for row in swept.groupBy("allowed", "code").count().orderBy("code").collect():
        verdict = "allowed" if row["allowed"] else "denied"
        print(f"{row['code']}: {row['count']} hit(s) {verdict}")  # noqa: T201
    spark.stop()


if __name__ == "__main__":
    main()
