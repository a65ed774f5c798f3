"""The registries a draw works from: the province's regions (shipped as data, regions.json), and
entities, their instruments and inspectors imported from CSV files.

A file is imported whole or not at all. A first streaming pass validates every row and collects
every bad one (with its line number and reason); only a file without a bad row is read a second
time and written, in one transaction: COPY on PostgreSQL, executemany in large batches on SQLite.
An entity already registered (same credit code) is updated, not refused. Uploaded files become
job rows (RegistryImport) that `labs scheduler` imports, reporting its progress on the row.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import queue
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

import psycopg
from sqlalchemy import or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from labs import audit
from labs.accounts.models import User
from labs.accounts.service import (CREDIT_CODE_PROBLEMS, EMAIL_RE, SYSTEM, Actor, credit_code_problem,
                                   require_role)
from labs.api import CONTROL_CHARACTERS
from labs.db import utcnow
from labs.errors import Invalid, NotFound
from labs.i18n import Message, N_
from labs.spotchecks.models import (ENTITY_KINDS, INSTRUMENT_KINDS, RISK_LEVELS, Region, RegistryImport,
                                    RegistryInspector)

log = logging.getLogger(__name__)

REGIONS_FILE = Path(__file__).with_name("regions.json")
KINDS = ("entities", "instruments", "inspectors")
IMPORTERS = ("admin", "inspector")
ONE_OF = N_("one of %(choices)s")
# Each file's columns (header names) and whether a row must fill them; lists are separated by ";".
COLUMNS: dict[str, tuple[tuple[str, bool], ...]] = {
    "entities": (("credit_code", True), ("name", True), ("kind", True), ("region", True), ("risk_level", True),
                 ("affiliation", False)),
    "instruments": (("entity_credit_code", True), ("kind", True), ("serial_number", True), ("description", False)),
    "inspectors": (("name", True), ("email", False), ("qualifications", True), ("affiliation", True),
                   ("conflicts", False)),
}
MAX_LENGTH = {
    "name": 200, "affiliation": 200, "serial_number": 64, "description": 200, "email": 254,
}
INSPECTOR_NAME_LENGTH = 100
REPORT_LIMIT = 10_000  # rejections kept (and shown); all are counted
CHUNK_ROWS = 10_000  # rows written (and looked up) at a time
LOOKUP_BATCH = 900  # bound parameters per IN (...): under SQLite's old limit of 999
STALE_AFTER = dt.timedelta(minutes=10)  # a running job without a sign of life for this long is taken again

# Why a row was rejected: a stable code (stored in an upload's report, printed by the command) and
# its message, with the rejection's field, value and detail as params; the page and the command
# show it in their reader's language. The detail is data, never a sentence: a line number, a
# length, the expected check character, a credit-code problem ("length" or "format").
REASONS = {
    "missing_field": N_("%(field)s is missing"),
    "credit_code_format": N_("%(field)s '%(value)s' is not a unified social credit code: %(problem)s"),
    "credit_code_check": N_("%(field)s '%(value)s' has a wrong check character (expected %(detail)s)"),
    "duplicate_in_file": N_("%(field)s '%(value)s' repeats line %(detail)s"),
    "already_registered": N_("'%(value)s' is already registered"),
    "unknown_region": N_("unknown region '%(value)s'"),
    "unknown_entity": N_("no registered entity has the credit code '%(value)s'"),
    "unknown_kind": N_("unknown %(field)s '%(value)s'"),
    "unknown_risk_level": N_("unknown risk level '%(value)s' (high, medium or low)"),
    "too_long": N_("%(field)s is longer than %(detail)s characters"),
    "control_character": N_("%(field)s holds a control character (a line break, a tab, ...)"),
    "bad_email": N_("'%(value)s' is not an e-mail address"),
    "extra_fields": N_("more fields than the header names"),
    # field: the columns missing, value: the unknown ones, detail: all of them
    "bad_header": N_("the header row lacks %(field)s and has unknown columns %(value)s"),
    "unreadable": N_("the file cannot be read as CSV from here on (%(detail)s)"),  # detail: the parser's words
    "not_utf8": N_("the file is not UTF-8 text from here on"),
    "no_header": N_("the file has no header row"),
    # value: the entity no longer registered
    "changed": N_("the registry changed during the import: '%(value)s' is no longer registered; import the file "
                  "again"),
}
# What a reason says when its field or its value is empty.
REASONS_WITHOUT = {
    ("bad_header", "value"): N_("the header row lacks %(field)s"),
    ("bad_header", "field"): N_("the header row has unknown columns %(value)s"),
    ("changed", "value"): N_("the registry changed during the import; import the file again"),
}

Progress = Callable[[str, int, int], None]  # phase ("validating" | "writing"), rows, bytes read
PHASES = {"validating": N_("checking every row"), "writing": N_("writing")}  # as people read them


@dataclass
class Rejection:
    line: int
    reason: str
    field: str = ""
    value: str = ""
    detail: str = ""

    def message(self) -> Message:
        """Why, with its params bound: `render` shows it in the reader's language."""
        text = REASONS[self.reason]
        for name in ("value", "field"):
            if not getattr(self, name) and (self.reason, name) in REASONS_WITHOUT:
                text = REASONS_WITHOUT[self.reason, name]
                break
        params = {"field": self.field, "value": self.value, "detail": self.detail}
        if self.reason == "credit_code_format":  # reports stored by earlier versions held words here
            params["problem"] = CREDIT_CODE_PROBLEMS.get(self.detail, self.detail)
        return text % params

    def as_row(self) -> list:
        """As an upload's report stores it: the code and the params, no sentence."""
        return [self.line, self.reason, self.field, self.value, self.detail]


@dataclass
class ImportResult:
    kind: str
    rows: int = 0
    added: int = 0
    updated: int = 0
    rejected: int = 0  # rows with at least one problem
    rejections: list[Rejection] = field(default_factory=list)  # the first REPORT_LIMIT problems


class ImportRefused(Invalid):
    """The file had bad rows: nothing of it was written."""

    def __init__(self, result: ImportResult):
        super().__init__(N_("%(rejected)s of %(rows)s rows rejected; nothing was imported"), code="import_refused",
                         params={"rejected": result.rejected, "rows": result.rows})
        self.result = result


# --- regions ---------------------------------------------------------------------------------------

def shipped_regions() -> list[tuple[str, str]]:
    """(code, name) of the province, its cities and their districts and counties, as regions.json
    ships them; a district's name carries its city's (two cities have a 鼓楼区)."""
    doc = json.loads(REGIONS_FILE.read_text(encoding="utf-8"))
    out = [(doc["province"]["code"], doc["province"]["name"])]
    for city in doc["cities"]:
        out.append((city["code"], city["name"]))
        out.extend((division["code"], city["name"] + division["name"]) for division in city["divisions"])
    return out


def sync_regions(session: Session) -> None:
    """Load the shipped regions (new codes added, names corrected); none is removed, since entities
    may still refer to a division that was merged away."""
    known = {region.code: region for region in session.scalars(select(Region))}
    for code, name in shipped_regions():
        if code not in known:
            session.add(Region(code=code, name=name))
        elif known[code].name != name:
            known[code].name = name


# --- reading a file ----------------------------------------------------------------------------------

class _Reader:
    """The rows of a CSV file (UTF-8, with or without a BOM) after its header row, with their line
    numbers; problems of the file itself (header, encoding, extra fields) become rejections."""

    def __init__(self, stream: BinaryIO, kind: str, result: ImportResult):
        self.stream, self.kind, self.result = stream, kind, result
        self.index: dict[str, int] = {}
        self.padding: list[str] = []
        self.absent: set[str] = set()  # the optional columns the file leaves out
        self.done = 0

    def bytes_read(self) -> int:
        return self.done if self.stream.closed else self.stream.tell()

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        wrapper = io.TextIOWrapper(self.stream, encoding="utf-8-sig", newline="")
        reader = csv.reader(wrapper)
        try:
            header = next(reader, None)
            if header is None:
                self.result.rejected += 1
                _reject(self.result, Rejection(1, "no_header"))
                return
            if not self._read_header(header):
                return
            width = len(header)
            for row in reader:
                if len(row) > width and any(value.strip() for value in row[width:]):
                    self.result.rows += 1
                    self.result.rejected += 1
                    _reject(self.result, Rejection(reader.line_num, "extra_fields"))
                    continue
                if not any(value.strip() for value in row):
                    continue  # a blank line
                if len(row) != width:
                    row = row[:width] + [""] * (width - len(row))
                yield reader.line_num, row + self.padding if self.padding else row
        except UnicodeDecodeError:
            self.result.rejected += 1
            _reject(self.result, Rejection(reader.line_num + 1, "not_utf8"))
        except csv.Error as exc:
            self.result.rejected += 1
            _reject(self.result, Rejection(reader.line_num, "unreadable", detail=str(exc)[:200]))
        finally:
            self.done = self.stream.tell()
            wrapper.detach()  # the caller closes the file

    def _read_header(self, header: list[str]) -> bool:
        names = [name.strip().lower() for name in header]
        columns = dict(COLUMNS[self.kind])
        missing = [name for name, required in columns.items() if required and name not in names]
        unknown = [name[:40] for name in names if name not in columns][:20]  # a header row may hold anything
        if missing or unknown:
            self.result.rejected += 1
            _reject(self.result, Rejection(1, "bad_header", ", ".join(missing), ", ".join(unknown),
                                           ", ".join(missing + unknown)))
            return False
        # An optional column left out reads as empty: it points past the file's own fields.
        absent = [name for name in columns if name not in names]
        self.index = {name: names.index(name) for name in columns if name in names}
        self.index.update({name: len(names) + i for i, name in enumerate(absent)})
        self.padding = [""] * len(absent)
        self.absent = set(absent)
        return True


def _reject(result: ImportResult, rejection: Rejection) -> None:
    if len(result.rejections) < REPORT_LIMIT:
        result.rejections.append(rejection)


def _text(row: list[str], index: dict[str, int], name: str, line: int, problems: list[Rejection],
          required: bool = True, max_length: int | None = None) -> str:
    value = row[index[name]].strip()
    if not value and required:
        problems.append(Rejection(line, "missing_field", name))
    if CONTROL_CHARACTERS.search(value):  # a quoted field may hold anything; names reach the public pages
        problems.append(Rejection(line, "control_character", name))
    limit = max_length or MAX_LENGTH.get(name)
    if limit and len(value) > limit:
        problems.append(Rejection(line, "too_long", name, value[:40], str(limit)))
    return value


def _credit_code(value: str, name: str, line: int, problems: list[Rejection]) -> str:
    code = value.strip().upper()
    if not code:
        problems.append(Rejection(line, "missing_field", name))
        return code
    problem = credit_code_problem(code)
    if problem == "check":
        from stdnum.cn.uscc import calc_check_digit
        problems.append(Rejection(line, "credit_code_check", name, code, calc_check_digit(code[:17])))
    elif problem is not None:
        problems.append(Rejection(line, "credit_code_format", name, code[:40], problem))
    return code


def _listed(value: str) -> list[str]:
    return [item.strip() for item in re.split(r"[;,]", value) if item.strip()]


# --- the database, in batches --------------------------------------------------------------------------

def _batches(values: list, size: int = LOOKUP_BATCH) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def in_list(session: Session, column: str, values: list) -> tuple[str, dict]:
    """`column IN (the values)` with one bound parameter, however many values: an array on
    PostgreSQL, a JSON array on SQLite (an IN of thousands of parameters is slow to plan)."""
    if session.get_bind().dialect.name == "postgresql":
        return f"{column} = ANY(:values)", {"values": list(values)}
    return f"{column} IN (SELECT value FROM json_each(:values))", {"values": json.dumps(list(values))}


def _entity_ids(session: Session, codes: list[str]) -> dict[str, int]:
    if not codes:
        return {}
    where, params = in_list(session, "credit_code", sorted(set(codes)))
    return dict(session.execute(text(f"SELECT credit_code, id FROM registry_entities WHERE {where}"), params).all())


def _registered_instruments(session: Session, entity_ids: list[int]) -> set[tuple[int, str, str]]:
    if not entity_ids:
        return set()
    where, params = in_list(session, "entity_id", sorted(set(entity_ids)))
    return {tuple(row) for row in session.execute(
        text(f"SELECT entity_id, kind, serial_number FROM registry_instruments WHERE {where}"), params)}


def _copy_rows(driver_connection, table: str, columns: tuple[str, ...], rows) -> None:
    with driver_connection.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def insert_rows(session: Session, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Bulk insert in the session's transaction: COPY on PostgreSQL, executemany on SQLite."""
    if not rows:
        return
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        _copy_rows(conn.connection.driver_connection, table, columns, rows)
    else:
        conn.exec_driver_sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                             rows)


def allocate_ids(session: Session, table: str, count: int) -> list[int]:
    """`count` new ids for rows of `table` written in bulk later in this transaction, so rows that
    refer to them can be made at once: from the table's sequence on PostgreSQL; on SQLite the
    transaction holds the write lock (BEGIN IMMEDIATE), so the ids after the largest are free."""
    if count == 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return list(session.execute(text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
                                         "FROM generate_series(1, :n)"), {"n": count}).scalars())
    largest = session.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one()
    return list(range(largest + 1, largest + 1 + count))


class BackgroundWriter:
    """Batches of rows for several tables, written in the session's transaction while the caller
    goes on computing the next batch. On PostgreSQL a thread of its own sends each batch by COPY on
    the session's connection, which the caller must not use until the block ends: the server checks the
    batch's foreign keys and indexes it on its own core, and libpq waits without the GIL. SQLite
    writes in this process anyway, so there each batch is written at once.

        with BackgroundWriter(session, {"table": ("column", ...), ...}) as writer:
            writer.write({"table": rows, ...})   # once a batch
        # here every batch is written; a write that failed is raised by write() or at the end

    When the block ends by an exception of its own, the writer only stops: that exception is what
    the caller sees (the transaction is rolled back anyway).
    """

    def __init__(self, session: Session, tables: dict[str, tuple[str, ...]]):
        self.session, self.tables = session, tables
        self.failure: BaseException | None = None
        self.thread = None
        if session.get_bind().dialect.name == "postgresql":
            self.batches: queue.Queue = queue.Queue(maxsize=4)
            self.thread = threading.Thread(target=self._run, args=(session.connection().connection.driver_connection,),
                                           name="labs-background-writer", daemon=True)
            self.thread.start()

    def __enter__(self) -> BackgroundWriter:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if self.thread is not None:
            self.batches.put(None)
            self.thread.join()
            self.thread = None
        if self.failure is not None and exc_type is None:
            raise self.failure

    def write(self, batch: dict[str, list[tuple]]) -> None:
        if self.failure is not None:  # no use drawing the rest
            raise self.failure
        if self.thread is None:
            for table, rows in batch.items():
                insert_rows(self.session, table, self.tables[table], rows)
        else:
            self.batches.put(batch)

    def _run(self, driver_connection) -> None:
        try:
            while (batch := self.batches.get()) is not None:
                for table, rows in batch.items():
                    if rows:
                        _copy_rows(driver_connection, table, self.tables[table], rows)
        except BaseException as exc:  # raised in the caller's thread, by write() or at the block's end
            self.failure = exc
            while self.batches.get() is not None:  # the caller may be waiting to put a batch
                pass


class _BulkInsert:
    """Rows added one at a time, inserted in bulk in the session's transaction: through one COPY
    on PostgreSQL (until paused for other statements), in batches of executemany on SQLite."""

    def __init__(self, session: Session, table: str, columns: tuple[str, ...]):
        self.session, self.table, self.columns = session, table, columns
        self.copy_context = self.copy = None
        self.batch: list[tuple] = []
        self.postgresql = session.get_bind().dialect.name == "postgresql"

    def add(self, row: tuple) -> None:
        if not self.postgresql:
            self.batch.append(row)
            if len(self.batch) == CHUNK_ROWS:
                self.pause()
            return
        if self.copy is None:
            self.cursor = self.session.connection().connection.driver_connection.cursor()
            self.copy_context = self.cursor.copy(f"COPY {self.table} ({', '.join(self.columns)}) FROM STDIN")
            self.copy = self.copy_context.__enter__()
        self.copy.write_row(row)

    def pause(self) -> None:
        """Send what was added, so the session may run other statements."""
        if self.copy is not None:
            context, self.copy_context, self.copy = self.copy_context, None, None
            try:
                context.__exit__(None, None, None)
            finally:
                self.cursor.close()
        if self.batch:
            insert_rows(self.session, self.table, self.columns, self.batch)
            self.batch = []

    close = pause


def _end_read(session: Session) -> None:
    """Validation only reads: end its transaction, so on SQLite (whose every transaction takes the
    write lock) the job's progress can be written in between."""
    session.rollback()


# --- one importer per registry -----------------------------------------------------------------------

class _Importer:
    """validate(reader) collects the rejections of a whole file; write(reader) writes a valid one."""

    kind = ""

    def __init__(self, session: Session, result: ImportResult):
        self.session, self.result = session, result

    def _problems(self, problems: list[Rejection]) -> bool:
        if problems:
            self.result.rejected += 1
            for problem in problems:
                _reject(self.result, problem)
        return bool(problems)


class _Entities(_Importer):
    kind = "entities"
    COLUMNS = ("credit_code", "name", "kind", "region", "risk_level", "affiliation")

    def _row(self, line: int, row: list[str], index: dict[str, int], problems: list[Rejection] | None) -> tuple:
        if problems is None:  # written after validation: the values only
            return tuple(row[index[name]].strip() for name in self.COLUMNS[1:])
        name = _text(row, index, "name", line, problems)
        kind = _text(row, index, "kind", line, problems)
        region = _text(row, index, "region", line, problems)
        risk = _text(row, index, "risk_level", line, problems)
        affiliation = _text(row, index, "affiliation", line, problems, required=False)
        if kind and kind not in ENTITY_KINDS:
            problems.append(Rejection(line, "unknown_kind", "kind", kind))
        if region and region not in self.regions:
            problems.append(Rejection(line, "unknown_region", "region", region))
        if risk and risk not in RISK_LEVELS:
            problems.append(Rejection(line, "unknown_risk_level", "risk_level", risk))
        return name, kind, region, risk, affiliation

    def validate(self, reader: _Reader, progress: Callable[[], None]) -> None:
        self.regions = set(self.session.scalars(select(Region.code)))
        _end_read(self.session)
        seen: dict[str, int] = {}
        # The codes already registered, looked up while the table is as the planner knows it: once
        # this import has written rows into it, the planner's statistics no longer match.
        self.existing: set[str] = set()
        chunk: list[str] = []
        for line, row in reader.rows():
            self.result.rows += 1
            problems: list[Rejection] = []
            code = _credit_code(row[reader.index["credit_code"]], "credit_code", line, problems)
            self._row(line, row, reader.index, problems)
            if code:
                first = seen.setdefault(code, line)
                if first != line:
                    problems.append(Rejection(line, "duplicate_in_file", "credit_code", code, str(first)))
            if not self._problems(problems):
                chunk.append(code)
            if len(chunk) == CHUNK_ROWS:
                self._look_up(chunk)
                progress()
                chunk = []
        self._look_up(chunk)

    def _look_up(self, codes: list[str]) -> None:
        if codes and not self.result.rejected:
            self.existing.update(_entity_ids(self.session, codes))
            _end_read(self.session)

    def write(self, reader: _Reader, progress: Callable[[], None]) -> None:
        # New entities go into one bulk insert (one COPY stream on PostgreSQL, so the server stores
        # rows while the next ones are read); registered ones are updated in batches, the COPY
        # paused meanwhile. A code registered since the check breaks the unique key: "changed".
        inserter = _BulkInsert(self.session, "registry_entities", self.COLUMNS)
        changed: list[dict] = []
        done = 0
        for line, row in reader.rows():
            index = reader.index  # read with the header row
            values = (row[index["credit_code"]].strip().upper(), *self._row(line, row, index, None))
            if values[0] in self.existing:
                changed.append({"code": values[0], "name": values[1], "kind": values[2], "region": values[3],
                                "risk": values[4], "affiliation": values[5]})
                if len(changed) == CHUNK_ROWS:
                    inserter.pause()
                    self._update(changed, reader)
                    changed = []
            else:
                inserter.add(values)
                self.result.added += 1
            done += 1
            if done % CHUNK_ROWS == 0:
                progress()
        inserter.close()
        self._update(changed, reader)
        if self.session.get_bind().dialect.name == "postgresql" and self.result.added >= CHUNK_ROWS:
            # Statistics for the queries that follow (the draw's scope), without waiting for autovacuum.
            self.session.execute(text("ANALYZE registry_entities"))

    def _update(self, changed: list[dict], reader: _Reader) -> None:
        # A file without the optional affiliation column leaves the registered affiliations as they are.
        affiliation = "" if "affiliation" in reader.absent else ", affiliation = :affiliation"
        if changed:
            self.session.execute(text(
                "UPDATE registry_entities SET name = :name, kind = :kind, region = :region, risk_level = :risk"
                f"{affiliation} WHERE credit_code = :code"), changed)
            self.result.updated += len(changed)


class _Instruments(_Importer):
    kind = "instruments"

    def validate(self, reader: _Reader, progress: Callable[[], None]) -> None:
        seen: dict[tuple[str, str, str], int] = {}
        chunk: list[tuple[int, str, str, str]] = []
        for line, row in reader.rows():
            self.result.rows += 1
            problems: list[Rejection] = []
            code = _credit_code(row[reader.index["entity_credit_code"]], "entity_credit_code", line, problems)
            kind = _text(row, reader.index, "kind", line, problems)
            serial = _text(row, reader.index, "serial_number", line, problems)
            _text(row, reader.index, "description", line, problems, required=False)
            if kind and kind not in INSTRUMENT_KINDS:
                problems.append(Rejection(line, "unknown_kind", "kind", kind))
            if code and kind and serial:
                first = seen.setdefault((code, kind, serial), line)
                if first != line:
                    problems.append(Rejection(line, "duplicate_in_file", "serial_number", serial, str(first)))
            if not self._problems(problems):
                chunk.append((line, code, kind, serial))
            if len(chunk) == CHUNK_ROWS:
                self._check_registered(chunk)
                progress()
                chunk = []
        self._check_registered(chunk)

    def _check_registered(self, chunk: list[tuple[int, str, str, str]]) -> None:
        if not chunk:
            return
        ids = _entity_ids(self.session, [code for _, code, _, _ in chunk])
        registered = _registered_instruments(self.session, list(ids.values()))
        _end_read(self.session)
        for line, code, kind, serial in chunk:
            if code not in ids:
                self._problems([Rejection(line, "unknown_entity", "entity_credit_code", code)])
            elif (ids[code], kind, serial) in registered:
                self._problems([Rejection(line, "already_registered", "serial_number", f"{code}/{kind}/{serial}")])

    def write(self, reader: _Reader, progress: Callable[[], None]) -> None:
        chunk = []
        for line, row in reader.rows():
            index = reader.index  # read with the header row
            chunk.append((line, row[index["entity_credit_code"]].strip().upper(), row[index["kind"]].strip(),
                          row[index["serial_number"]].strip(), row[index["description"]].strip()))
            if len(chunk) == CHUNK_ROWS:
                self._write(chunk)
                progress()
                chunk = []
        self._write(chunk)

    def _write(self, chunk: list[tuple]) -> None:
        ids = _entity_ids(self.session, [row[1] for row in chunk])
        gone = [row for row in chunk if row[1] not in ids]
        if gone:
            self._problems([Rejection(gone[0][0], "changed", "entity_credit_code", gone[0][1])])
            raise ImportRefused(self.result)
        insert_rows(self.session, "registry_instruments", ("entity_id", "kind", "serial_number", "description"),
                     [(ids[code], kind, serial, description) for _, code, kind, serial, description in chunk])
        self.result.added += len(chunk)


class _Inspectors(_Importer):
    """Inspectors are few (hundreds): validated in one piece, written through the ORM. One is
    known by its e-mail address, or by name and affiliation when it has none."""

    kind = "inspectors"

    def _parse(self, reader: _Reader) -> list[tuple[int, dict, list[Rejection]]]:
        out = []
        for line, row in reader.rows():
            problems: list[Rejection] = []
            values = {
                "name": _text(row, reader.index, "name", line, problems, max_length=INSPECTOR_NAME_LENGTH),
                "email": _text(row, reader.index, "email", line, problems, required=False).lower() or None,
                "affiliation": _text(row, reader.index, "affiliation", line, problems),
                "qualifications": _listed(_text(row, reader.index, "qualifications", line, problems)),
                "conflicts": [],
            }
            if values["email"] and not EMAIL_RE.fullmatch(values["email"]):
                problems.append(Rejection(line, "bad_email", "email", values["email"]))
            for kind in values["qualifications"]:
                if kind not in INSTRUMENT_KINDS:
                    problems.append(Rejection(line, "unknown_kind", "qualifications", kind))
            for code in _listed(row[reader.index["conflicts"]]):
                values["conflicts"].append(_credit_code(code, "conflicts", line, problems))
            out.append((line, values, problems))
        return out

    @staticmethod
    def _key(values: dict) -> tuple:
        return ("email", values["email"]) if values["email"] else ("name", values["name"], values["affiliation"])

    def validate(self, reader: _Reader, progress: Callable[[], None]) -> None:
        parsed = self._parse(reader)
        self.result.rows = len(parsed)
        registered = {self._key({"email": email, "name": name, "affiliation": affiliation})
                      for email, name, affiliation in self.session.execute(
                          select(RegistryInspector.email, RegistryInspector.name, RegistryInspector.affiliation))}
        _end_read(self.session)
        seen: dict[tuple, int] = {}
        for line, values, problems in parsed:
            key = self._key(values)
            shown = values["email"] or f"{values['name']} ({values['affiliation']})"
            first = seen.setdefault(key, line)
            if first != line:
                problems.append(Rejection(line, "duplicate_in_file", "email" if values["email"] else "name",
                                          shown, str(first)))
            elif key in registered:
                problems.append(Rejection(line, "already_registered", "email" if values["email"] else "name", shown))
            self._problems(problems)
        progress()

    def write(self, reader: _Reader, progress: Callable[[], None]) -> None:
        parsed = self._parse(reader)
        emails = [values["email"] for _, values, _ in parsed if values["email"]]
        users: dict[str, int] = {}
        for batch in _batches(emails):
            users.update(self.session.execute(select(User.email, User.id).where(
                User.email.in_(batch), User.role == "inspector")).all())
        linked = set(self.session.scalars(select(RegistryInspector.user_id).where(RegistryInspector.user_id.is_not(None))))
        for _, values, _ in parsed:
            user_id = users.get(values["email"] or "")
            self.session.add(RegistryInspector(**values, user_id=user_id if user_id not in linked else None))
        self.session.flush()
        self.result.added += len(parsed)
        progress()


IMPORTERS_BY_KIND = {importer.kind: importer for importer in (_Entities, _Instruments, _Inspectors)}


def import_registry(session: Session, actor: Actor | None, kind: str, open_file: Callable[[], BinaryIO],
                    progress: Progress | None = None) -> ImportResult:
    """Import a CSV file into a registry, whole or not at all. `open_file` opens the file afresh
    (it is read twice: validated, then written). Bad rows raise ImportRefused with every one of
    them (the first REPORT_LIMIT) and nothing is written; the caller commits on success. The
    session must hold nothing pending: validation ends its read transactions."""
    require_role(actor, *IMPORTERS)
    if kind not in KINDS:
        raise Invalid(N_("unknown registry %(kind)s"), {"kind": [ONE_OF]}, code="unknown_registry",
                      params={"kind": kind[:40], "choices": ", ".join(KINDS)})
    actor_id = actor.id
    result = ImportResult(kind)
    importer = IMPORTERS_BY_KIND[kind](session, result)
    report = progress or (lambda phase, rows, read: None)
    with open_file() as stream:
        reader = _Reader(stream, kind, result)
        importer.validate(reader, lambda: report("validating", result.rows, reader.bytes_read()))
    if result.rejected:
        raise ImportRefused(result)
    rows, written = result.rows, 0
    report("writing", 0, 0)
    with open_file() as stream:
        reader = _Reader(stream, kind, ImportResult(kind))

        def writing():
            nonlocal written
            written = min(rows, written + CHUNK_ROWS)
            report("writing", written, reader.bytes_read())
        try:
            importer.write(reader, writing)
        except (IntegrityError, psycopg.IntegrityError) as exc:  # COPY raises psycopg's own
            # Someone registered the same entity or instrument since the rows were checked.
            session.rollback()
            log.info("registry import of %s refused: %s", kind, str(getattr(exc, "orig", exc)).splitlines()[0][:200])
            result.rejected += 1
            _reject(result, Rejection(0, "changed"))
            raise ImportRefused(result) from None
    audit.record(session, actor_id, f"registry.import_{kind}", "registry", 0, None,
                 {"rows": result.rows, "added": result.added, "updated": result.updated})
    return result


# --- uploads: import jobs --------------------------------------------------------------------------

def queue_import(session: Session, actor: Actor | None, kind: str, filename: str, content: bytes) -> RegistryImport:
    """An uploaded file, queued for `labs scheduler` to import."""
    require_role(actor, *IMPORTERS)
    errors = {}
    if kind not in KINDS:
        errors["kind"] = [ONE_OF % {"choices": ", ".join(KINDS)}]
    if not content:
        errors["file"] = [N_("the file is empty")]
    if errors:
        raise Invalid(N_("the upload is refused"), errors, code="upload_refused")
    # Only shown back: kept printable (PostgreSQL refuses a NUL in text).
    filename = "".join(ch for ch in (filename or "") if ch.isprintable())[:200] or "upload.csv"
    job = RegistryImport(kind=kind, filename=filename, content=content,
                         size_bytes=len(content), created_by=actor.id, state="queued", phase="", bytes_done=0,
                         rows_done=0, added=0, updated=0, rejected=0, report=[], error="")
    session.add(job)
    session.flush()
    return job


def get_import(session: Session, actor: Actor | None, import_id: int) -> RegistryImport:
    require_role(actor, *IMPORTERS)
    job = session.get(RegistryImport, import_id)
    if job is None:
        raise NotFound(N_("no such import"), code="no_import")
    return job


def recent_imports(session: Session, actor: Actor | None, limit: int = 20) -> list[RegistryImport]:
    require_role(actor, *IMPORTERS)
    return list(session.scalars(select(RegistryImport).order_by(RegistryImport.id.desc()).limit(limit)))


def run_queued_imports(session: Session) -> int:
    """The scheduler's job: import every queued upload (and one whose importer died), each claimed
    by one scheduler only. Returns how many were run."""
    engine = session.get_bind()
    now = utcnow()
    # A running job whose importer died (its transaction rolled back with it) is taken again.
    takeable = or_(RegistryImport.state == "queued",
                   (RegistryImport.state == "running") & (RegistryImport.heartbeat_at < now - STALE_AFTER))
    waiting = list(session.scalars(select(RegistryImport.id).where(takeable).order_by(RegistryImport.id)))
    session.commit()
    ran = 0
    for job_id in waiting:
        claimed = session.execute(update(RegistryImport).where(RegistryImport.id == job_id, takeable)
                                  .values(state="running", phase="validating", heartbeat_at=utcnow()))
        session.commit()
        if claimed.rowcount == 1:
            run_import(engine, job_id)
            ran += 1
    return ran


def run_import(engine, job_id: int) -> None:
    """Import a claimed job's file, writing its progress to its row as it goes (on SQLite only
    while validating: the write transaction holds the database's one write lock)."""
    with Session(engine, expire_on_commit=False) as status, Session(engine, expire_on_commit=False) as work:
        job = status.get(RegistryImport, job_id)
        content, kind, user_id = job.content, job.kind, job.created_by
        status.commit()
        concurrent = engine.dialect.name == "postgresql"
        last = 0.0

        def progress(phase: str, rows: int, read: int) -> None:
            nonlocal last
            if phase == "writing" and not concurrent and rows:
                return
            if time.monotonic() - last < 0.5 and rows:
                return
            last = time.monotonic()
            status.execute(update(RegistryImport).where(RegistryImport.id == job_id).values(
                phase=phase, rows_done=rows, bytes_done=read, heartbeat_at=utcnow()))
            status.commit()

        done = {"state": "done", "phase": "", "content": b"", "finished_at": None}
        try:
            actor = work.get(User, user_id) if user_id else SYSTEM
            result = import_registry(work, actor, kind, lambda: io.BytesIO(content), progress)
            work.commit()
            done.update(rows_done=result.rows, bytes_done=len(content), added=result.added, updated=result.updated)
        except ImportRefused as exc:
            work.rollback()
            done.update(state="refused", rows_done=exc.result.rows, rejected=exc.result.rejected,
                        report=[rejection.as_row() for rejection in exc.result.rejections])
        except Exception as exc:  # noqa: BLE001 — recorded on the job for whoever uploaded it
            work.rollback()
            log.exception("registry import %s failed", job_id)
            done.update(state="failed", error=f"{type(exc).__name__}: {exc}"[:2000])
        done["finished_at"] = utcnow()
        status.execute(update(RegistryImport).where(RegistryImport.id == job_id).values(**done))
        status.commit()
