"""The CSV that ``COPY`` reads, from Python rows or from files Spark wrote.

Why CSV: it is the one bulk format both ``COPY FROM STDIN`` (PostgreSQL) and ``COPY FROM
S3`` (Redshift) read, and Spark writes it in parallel. The dialect is RFC 4180: comma, ``"``
quoting with ``""`` escapes, no header, an empty unquoted field is NULL, timestamps ISO-8601
with offset. Empty strings are loaded as NULL on both engines (Redshift's ``EMPTYASNULL``);
fraudstack never stores empty strings.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from fraudstack.aws import client
from fraudstack.settings import Settings

#: Row tuples in the order of the column list they are loaded with.
Rows = Iterable[Sequence[Any]]

#: ``DataFrame.write.options(**SPARK_CSV_OPTIONS).csv(uri)`` writes what :class:`CsvParts` loads.
SPARK_CSV_OPTIONS: dict[str, str] = {
    "header": "false",
    "quote": '"',
    "escape": '"',
    "nullValue": "",
    "emptyValue": "",
    "timestampFormat": "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX",
    "dateFormat": "yyyy-MM-dd",
    "lineSep": "\n",
}


@dataclass(frozen=True)
class CsvParts:
    """A folder of CSV files (``s3://bucket/prefix/`` or a local path), e.g. Spark output.

    Files whose names start with ``_`` or ``.`` (Spark's ``_SUCCESS``, checksums) are skipped.
    """

    uri: str

    def open(self, settings: Settings) -> Iterator[IO[bytes]]:
        """Each part file as a binary stream, in name order."""
        if self.uri.startswith(("s3://", "s3a://")):
            bucket, prefix = split_uri(self.uri)
            s3 = client("s3", settings)
            prefix = prefix.rstrip("/") + "/"
            keys: list[str] = []
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                keys.extend(o["Key"] for o in page.get("Contents", []) if _is_part(o["Key"]))
            for key in sorted(keys):
                yield s3.get_object(Bucket=bucket, Key=key)["Body"]
            return
        folder = Path(self.uri.removeprefix("file://"))
        for path in sorted(p for p in folder.iterdir() if p.is_file() and _is_part(p.name)):
            with path.open("rb") as stream:
                yield stream


def _is_part(key: str) -> bool:
    name = key.rsplit("/", 1)[-1]
    return bool(name) and not name.startswith(("_", "."))


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key)."""
    match = re.match(r"^s3a?://([^/]+)/?(.*)$", uri)
    if not match:
        raise ValueError(f"not an S3 URI: {uri!r}")
    return match.group(1), match.group(2)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return value


def rows_to_csv(rows: Rows) -> io.BytesIO:
    """Rows as an in-memory CSV buffer in the COPY dialect (JSON values are serialised)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return io.BytesIO(text.getvalue().encode())
