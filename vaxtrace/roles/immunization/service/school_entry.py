"""入学入托查验: a kindergarten's or school's roster checked against the province's records.

A CDC or vaccination site uploads a roster (CSV or XLSX, :mod:`vaxtrace.core.school_entry`)
with the school's name and division. Each row is matched to a registered child anywhere in
the province (exactly by card number or resident id, else by likeness), the matched child's
doses are evaluated by the schedule's school-entry check (primary school: the doses due by
6 years; kindergarten: those due by the child's age on the day), and the row is complete,
incomplete (with the missing doses), no match, ambiguous (candidates masked), invalid (a
required cell unreadable, named by row and column) or a duplicate row. The file is read a
chunk of rows at a time in one transaction: a refused file (a missing column, too many rows)
writes nothing. The same file for the same school again answers the check already made; a
re-check judges the same rows against the records as they are now (after catch-up doses).

Who reads a check: the unit that made it, and a CDC whose area holds the school. The
journal keeps each check's and re-check's ids, counts and digests, no personal data.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import secrets
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

from vaxtrace.core.datasets.basic_data import OrgKind
from vaxtrace.core.errors import DomainError
from vaxtrace.core.identifiers import DivisionCode, IdentifierError
from vaxtrace.core.immunization import Unit
from vaxtrace.core.reasons import Reason
from vaxtrace.core.recipients import vaccine_of
from vaxtrace.core.recipients.matching import name_key
from vaxtrace.core.schedule import Child, DoseGiven, Schedule, evaluate, national_schedule
from vaxtrace.core.schedule.ages import Duration
from vaxtrace.core.school_entry import (
    MAX_ROWS,
    Duplicates,
    Known,
    RosterRow,
    RowStatus,
    candidate_view,
    counts,
    decide,
    read_roster,
)
from vaxtrace.core.school_entry.roster import LABELS
from vaxtrace.core.times import Clock, as_utc
from vaxtrace.roles.immunization.service.lookups import unit
from vaxtrace.roles.immunization.service.recipients import china_date
from vaxtrace.store.engine import Connection, Engine, IntegrityError, read_tx, write_tx
from vaxtrace.store.immunization import school_entry as store
from vaxtrace.store.immunization.recipients import MERGED, MOVED_OUT
from vaxtrace.store.immunization.stock_views import product_copies

Row = Mapping[Any, Any]
"""A row as the store answers it."""

LEVELS = {"primary": "入学", "kindergarten": "入托"}
"""What a school is: a primary school (the doses due by 6 years) or a kindergarten (those
due by the child's age on the day of the check)."""

CHUNK = 500
"""Rows matched and written at a time."""

MAX_BYTES = 20 * 1024 * 1024
"""The largest roster file taken."""


@dataclass(frozen=True, slots=True)
class Checked:
    """A check's answer; ``created`` False when the same file for the same school was
    checked before (that check answered, nothing written)."""

    body: dict[str, Any]
    created: bool


@dataclass(frozen=True, slots=True)
class School:
    name: str
    division: str
    level: str = "primary"


def school(name: str, division: str, level: str = "primary") -> School:
    """The school a roster is of, checked: a name, a division code, a level."""
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > 100:
        raise DomainError(
            Reason.MISSING_VALUE if not cleaned else Reason.OUT_OF_RANGE,
            "the school's name is required (at most 100 characters)",
            field="school_name",
        )
    try:
        DivisionCode(division)
    except IdentifierError as exc:
        raise DomainError(
            Reason.OUT_OF_RANGE, f"not a division code: {exc}", field="school_division"
        ) from exc
    if level not in LEVELS:
        raise DomainError(
            Reason.OUT_OF_RANGE, "level is primary (入学) or kindergarten (入托)", field="level"
        )
    return School(cleaned, division, level)


def file_digest(stream: IO[bytes]) -> str:
    """The file's SHA-256, read in chunks; the stream is left at its start. Refused when
    larger than :data:`MAX_BYTES`."""
    digest = hashlib.sha256()
    size = 0
    stream.seek(0)
    while chunk := stream.read(1 << 16):
        size += len(chunk)
        if size > MAX_BYTES:
            raise DomainError(
                Reason.FILE_TOO_LARGE,
                f"the roster is larger than {MAX_BYTES} bytes (split it by class or grade)",
                field="file",
            )
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


# --- judging rows ------------------------------------------------------------------------------


class Judge:
    """Matches and evaluates a roster's rows a chunk at a time, as of ``today``."""

    def __init__(self, conn: Connection, today: date, level: str, schedule: Schedule) -> None:
        self.conn = conn
        self.today = today
        self.level = level
        self.schedule = schedule
        self.products = product_copies(conn)
        self.short_names = list(schedule.products)
        self.duplicates = Duplicates()
        self.vaccines: dict[tuple[str, str | None], str | None] = {}

    def rows(self, rows: Sequence[RosterRow]) -> list[dict[str, Any]]:
        """Each row's status, child and result (rows in roster order)."""
        out: list[dict[str, Any]] = []
        pending: list[RosterRow] = []
        for row in rows:
            earlier = self.duplicates.of_row(row)
            if earlier is not None:
                out.append(_judged(row, RowStatus.DUPLICATE_ROW, None, {"duplicate_of": earlier}))
            elif not row.valid:
                out.append(_judged(row, RowStatus.INVALID, None, {}))
            else:
                pending.append(row)
        decided = self._match(pending)
        matched = [(row, d) for row, d in decided if d.child is not None]
        evaluations = self._evaluate([d.child for _, d in matched if d.child is not None])
        for row, decision in decided:
            if decision.child is None:
                assert decision.status is not None
                result: dict[str, Any] = {
                    "candidates": [candidate_view(c) for c in decision.candidates]
                }
                out.append(_judged(row, decision.status, None, result))
                continue
            child = decision.child
            earlier = self.duplicates.of_child(row.row, child.id)
            if earlier is not None:
                result = {"duplicate_of": earlier, "child_id": child.id}
                out.append(_judged(row, RowStatus.DUPLICATE_ROW, None, result))
                continue
            evaluation = dict(evaluations[child.id])
            status = RowStatus.COMPLETE if not evaluation["missing"] else RowStatus.INCOMPLETE
            if status is RowStatus.INCOMPLETE:
                del evaluation["series"]  # what a certificate prints; a notice lists missing
            result = {
                "matched_by": decision.by,
                "score": decision.score,
                "matched": list(decision.matched),
                "child": {
                    "child_id": child.id,
                    "site_uscc": child.site_uscc,
                    "name": child.name,
                    "sex": child.sex,
                    "birth_date": child.birth_date.isoformat(),
                    "card_no": child.card_no,
                },
                **evaluation,
            }
            out.append(_judged(row, status, child.id, result))
        out.sort(key=lambda r: int(r["row_no"]))
        return out

    # matching

    def _match(self, rows: Sequence[RosterRow]) -> list[tuple[RosterRow, Any]]:
        if not rows:
            return []
        conn = self.conn
        cards = {r.card_no for r in rows if r.card_no}
        rids = {r.resident_id for r in rows if r.resident_id}
        by_card = self._exact(store.children_by(conn, "card_no", cards), "card_no")
        by_rid = self._exact(store.children_by(conn, "resident_id", rids), "resident_id")
        need = [r for r in rows if r.card_no not in by_card and r.resident_id not in by_rid]
        near_rows = store.children_near(
            conn,
            name_keys={name_key(r.name) for r in need if r.name},
            phones={p for r in need for p in r.phones},
            births_by_surname={(r.birth_date, r.name[0]) for r in need if r.name and r.birth_date},
        )
        near = self._known(near_rows)
        index: dict[tuple[str, str], list[Known]] = defaultdict(list)
        for k in near:
            index["name", name_key(k.name)].append(k)
            index["birth", f"{k.birth_date}|{k.name[:1]}"].append(k)
            for phone in k.phones:
                index["phone", phone].append(k)
        decided = []
        for row in rows:
            assert row.name is not None
            keys = [("name", name_key(row.name)), ("birth", f"{row.birth_date}|{row.name[:1]}")]
            keys.extend(("phone", p) for p in row.phones)
            candidates = [k for key in keys for k in index.get(key, ())]
            decision = decide(
                row,
                by_card.get(row.card_no) if row.card_no else None,
                by_rid.get(row.resident_id) if row.resident_id else None,
                candidates,
            )
            decided.append((row, decision))
        return decided

    def _exact(self, rows: Sequence[Row], column: str) -> dict[str, Known]:
        """Children by card or resident id; a merged record stands for the one kept; a child
        moved out of the province is none."""
        found: dict[str, Row] = {}
        for r in rows:
            kept: Row | None = r
            seen: set[str] = set()
            while kept is not None and kept["state"] == MERGED and kept["id"] not in seen:
                seen.add(str(kept["id"]))
                kept = store.kept_children(self.conn, [str(kept["merged_into"])]).get(
                    str(kept["merged_into"])
                )
            if kept is not None and kept["state"] not in (MERGED, MOVED_OUT):
                found[str(r[column])] = kept
        known = {
            k.id: k for k in self._known(list({str(r["id"]): r for r in found.values()}.values()))
        }
        return {key: known[str(r["id"])] for key, r in found.items()}

    def _known(self, rows: Sequence[Row]) -> list[Known]:
        phones = store.phones_of(self.conn, [str(r["id"]) for r in rows])
        return [
            Known(
                id=str(r["id"]),
                site_uscc=str(r["site_uscc"]),
                name=str(r["name"]),
                sex=str(r["sex"]),
                birth_date=r["birth_date"],
                phones=tuple(phones.get(str(r["id"]), ())),
                card_no=r["card_no"],
                resident_id=r["resident_id"],
            )
            for r in rows
        ]

    # evaluating

    def _vaccine(self, mah: str, product_code: str | None) -> str | None:
        """The schedule vaccine of a product (each product worked out once)."""
        key = (mah, product_code)
        if key not in self.vaccines:
            copy = self.products.get(f"{mah}/{product_code}") or {}
            found = vaccine_of(product_code, copy.get("generic_name"), self.short_names)
            self.vaccines[key] = found
        return self.vaccines[key]

    def _evaluate(self, children: Sequence[Known]) -> dict[str, dict[str, Any]]:
        if not children:
            return {}
        family = store.merged_into(self.conn, {c.id for c in children})
        doses = store.doses_of(self.conn, [ref for refs in family.values() for ref in refs])
        found = {}
        for c in children:
            given = [d for ref in family[c.id] for d in doses.get(ref, ())]
            found[c.id] = self.evaluation(c.birth_date, c.sex, given)
        return found

    def evaluation(self, birth: date, sex: str, given: Iterable[Row]) -> dict[str, Any]:
        """The school-entry check of a child's doses: missing doses (each with its vaccine's
        name, and the earliest day the first missing dose of a series may be given) and each
        series' valid doses."""
        days: list[DoseGiven] = []
        for d in given:
            vaccine = self._vaccine(d["mah_uscc"], d["product_code"])
            if vaccine is not None:
                days.append(DoseGiven(vaccine, china_date(as_utc(d["vaccinated_at"]))))
        assessment = max([self.today, birth, *(d.date for d in days)])
        entry_age = None
        if self.level == "kindergarten":
            entry_age = Duration(days=(assessment - birth).days)
        found = evaluate(
            Child(birth, sex, assessment, tuple(days)), self.schedule, school_entry_age=entry_age
        )
        nexts = {s.vaccine: s.next for s in found.series}
        missing = []
        for m in found.school_entry.missing:
            forecast = nexts.get(m.vaccine)
            earliest = (
                forecast.earliest if forecast is not None and forecast.dose == m.dose else None
            )
            missing.append(
                {
                    "vaccine": m.vaccine,
                    "vaccine_name": self.schedule.label(m.vaccine),
                    "dose": m.dose,
                    "earliest": None if earliest is None else earliest.isoformat(),
                }
            )
        return {
            "edition": found.edition,
            "entry_date": found.school_entry.entry_date.isoformat(),
            "assessment_date": assessment.isoformat(),
            "missing": missing,
            "series": [
                {
                    "vaccine": s.vaccine,
                    "vaccine_name": self.schedule.label(s.vaccine),
                    "status": s.status.value,
                    "doses_valid": s.doses_valid,
                    "doses_required": s.doses_required,
                }
                for s in found.series
            ],
        }


def _judged(
    row: RosterRow, status: RowStatus, child_id: str | None, result: dict[str, Any]
) -> dict[str, Any]:
    return {
        "row_no": row.row,
        "roster": row.stored(),
        "status": status.value,
        "child_id": child_id,
        "result": result,
    }


def _line(judged: Mapping[str, Any]) -> bytes:
    """A row's result as the results digest takes it (canonical JSON, one line)."""
    kept = {k: judged[k] for k in ("row_no", "status", "child_id", "result")}
    return (
        json.dumps(kept, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"
    ).encode()


def _chunks(rows: Iterator[RosterRow], size: int) -> Iterator[list[RosterRow]]:
    chunk: list[RosterRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- the use cases -----------------------------------------------------------------------------


def _checker(conn: Connection, actor: str) -> Unit:
    acting = unit(conn, actor)
    if acting.kind not in (OrgKind.CDC, OrgKind.POV):
        raise DomainError(
            Reason.WRONG_ORGANISATION_KIND,
            "a CDC or a vaccination site checks a school's roster",
        )
    return acting


def check(
    engine: Engine,
    clock: Clock,
    actor: str,
    user: str,
    where: School,
    stream: IO[bytes],
    *,
    file_name: str | None = None,
    max_rows: int = MAX_ROWS,
    schedule: Schedule | None = None,
) -> Checked:
    """入学入托查验 of a roster (a seekable binary stream), as the module says. The same
    file sent twice at once is checked once: the second meets the first's check."""
    digest = file_digest(stream)
    try:
        return _check(
            engine, clock, actor, user, where, stream, digest, file_name, max_rows, schedule
        )
    except IntegrityError:
        stream.seek(0)
        return _check(
            engine, clock, actor, user, where, stream, digest, file_name, max_rows, schedule
        )


def _check(
    engine: Engine,
    clock: Clock,
    actor: str,
    user: str,
    where: School,
    stream: IO[bytes],
    digest: str,
    file_name: str | None,
    max_rows: int,
    schedule: Schedule | None,
) -> Checked:
    schedule = schedule or national_schedule()
    with write_tx(engine) as conn:
        _checker(conn, actor)
        same = store.find_same_file(conn, actor, where.division, where.name, digest)
        if same is not None:
            return Checked(_check_view(conn, same, rows=True), created=False)
        now = clock.now()
        today = china_date(now)
        check_id = "sec-" + secrets.token_hex(8)
        store.insert_check(
            conn,
            {
                "id": check_id,
                "org_uscc": actor,
                "school_name": where.name,
                "school_division": where.division,
                "level": where.level,
                "file_name": (file_name or None) and file_name[:200],
                "file_sha256": digest,
                "rows": 0,
                "counts": counts(()),
                "round": 1,
                "results_sha256": hashlib.sha256().hexdigest(),
                "checked_by": user,
                "checked_at": now,
                "assessed_at": now,
            },
        )
        judge = Judge(conn, today, where.level, schedule)
        results = hashlib.sha256()
        statuses: list[str] = []
        views: list[dict[str, Any]] = []
        for chunk in _chunks(read_roster(stream, today, max_rows), CHUNK):
            judged = judge.rows(chunk)
            store.insert_rows(conn, [j | {"check_id": check_id} for j in judged])
            for j in judged:
                results.update(_line(j))
                statuses.append(str(j["status"]))
                views.append(_row_view(j))
        tally = counts(statuses)
        store.update_check(
            conn, check_id, rows=tally["rows"], counts=tally, results_sha256=results.hexdigest()
        )
        row = store.find_check(conn, check_id)
        assert row is not None
        _journal(conn, "school_entry_check", row, user, file_sha256=digest)
        return Checked(_check_view(conn, row, rows=False) | {"results": views}, created=True)


def recheck(
    engine: Engine,
    clock: Clock,
    actor: str,
    user: str,
    check_id: str,
    schedule: Schedule | None = None,
) -> dict[str, Any]:
    """复查: the same rows judged again against the records as they are now (catch-up doses
    given since count); the check's round goes up by one."""
    schedule = schedule or national_schedule()
    with write_tx(engine) as conn:
        _checker(conn, actor)
        found = _readable(conn, actor, check_id)
        if found["org_uscc"] != actor:
            raise DomainError(Reason.NOT_YOUR_CHECK, "only the unit that made a check re-checks it")
        now = clock.now()
        judge = Judge(conn, china_date(now), str(found["level"]), schedule)
        results = hashlib.sha256()
        statuses: list[str] = []
        views: list[dict[str, Any]] = []
        for page in store.rows_of(conn, check_id, chunk=CHUNK):  # keyset pages: each re-read
            judged = judge.rows(
                [RosterRow.from_stored(int(r["row_no"]), r["roster"]) for r in page]
            )
            store.update_rows(conn, check_id, judged)
            for j in judged:
                results.update(_line(j))
                statuses.append(str(j["status"]))
                views.append(_row_view(j))
        tally = counts(statuses)
        store.update_check(
            conn,
            check_id,
            counts=tally,
            results_sha256=results.hexdigest(),
            round=int(found["round"]) + 1,
            assessed_at=now,
        )
        row = store.find_check(conn, check_id)
        assert row is not None
        _journal(conn, "school_entry_recheck", row, user, previous_counts=found["counts"])
        return _check_view(conn, row, rows=False) | {"results": views}


def _journal(conn: Connection, kind: str, row: Row, user: str, **extra: Any) -> None:
    store.journal_check(
        conn,
        kind,
        {
            "org_uscc": row["org_uscc"],
            "check_id": row["id"],
            "school_name": row["school_name"],
            "school_division": row["school_division"],
            "level": row["level"],
            "round": row["round"],
            "counts": row["counts"],
            "results_sha256": row["results_sha256"],
            "recorded_by": user,
            **extra,
        },
    )


def default_unit(engine: Engine) -> str | None:
    """The unit a check from the command line is made by when none is named: the CDC of the
    widest area (the provincial CDC), else the only unit."""
    with read_tx(engine) as conn:
        found = store.units(conn)
    cdcs = [u for u in found if u["kind"] == OrgKind.CDC.value]
    if cdcs:
        widest = min(cdcs, key=lambda u: len(DivisionCode(u["division_code"]).area_prefix))
        return str(widest["uscc"])
    return str(found[0]["uscc"]) if len(found) == 1 else None


def unit_division(engine: Engine, uscc: str) -> str:
    with read_tx(engine) as conn:
        return unit(conn, uscc).division.value


def _readable(conn: Connection, actor: str, check_id: str) -> Row:
    """The check, if the actor made it or is a CDC whose area holds the school."""
    found = store.find_check(conn, check_id)
    if found is None:
        raise DomainError(Reason.UNKNOWN_CHECK, f"no school-entry check {check_id}")
    if found["org_uscc"] == actor:
        return found
    reader = unit(conn, actor)
    if reader.kind is OrgKind.CDC and DivisionCode(found["school_division"]).is_within(
        reader.division
    ):
        return found
    raise DomainError(
        Reason.NOT_YOUR_CHECK, "the check is another unit's, of a school outside your area"
    )


def _check_view(conn: Connection, row: Row, rows: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "check_id": row["id"],
        "org_uscc": row["org_uscc"],
        "school_name": row["school_name"],
        "school_division": row["school_division"],
        "level": row["level"],
        "file_name": row["file_name"],
        "file_sha256": row["file_sha256"],
        "round": row["round"],
        "checked_at": as_utc(row["checked_at"]).isoformat(),
        "assessed_at": as_utc(row["assessed_at"]).isoformat(),
        "counts": row["counts"],
        "results_sha256": row["results_sha256"],
    }
    if rows:
        body["results"] = [
            _row_view(r) for page in store.rows_of(conn, str(row["id"])) for r in page
        ]
    return body


def _row_view(r: Row) -> dict[str, Any]:
    roster = r["roster"]
    return {
        "row": r["row_no"],
        "status": r["status"],
        "child_id": r["child_id"],
        "name": roster.get("name"),
        "sex": roster.get("sex"),
        "birth_date": roster.get("birth_date"),
        "class_name": roster.get("class_name"),
        "problems": roster.get("problems") or [],
        **r["result"],
    }


def read_check(engine: Engine, actor: str, check_id: str, rows: bool = True) -> dict[str, Any]:
    with read_tx(engine) as conn:
        return _check_view(conn, _readable(conn, actor, check_id), rows)


def check_rows(
    engine: Engine, actor: str, check_id: str, statuses: Sequence[str] | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A check and its rows (of ``statuses``), for the files and PDFs."""
    with read_tx(engine) as conn:
        found = _readable(conn, actor, check_id)
        return _check_view(conn, found, rows=False), [
            _row_view(r) for page in store.rows_of(conn, check_id, statuses) for r in page
        ]


def summary(engine: Engine, actor: str) -> dict[str, Any]:
    """Counts per school: a vaccination site's own checks; a CDC's, every check of a school
    in its area (each school's latest check of each roster summed)."""
    with read_tx(engine) as conn:
        reader = unit(conn, actor)
        if reader.kind is OrgKind.CDC:
            rows = store.checks(conn, area_prefix=reader.division.area_prefix)
        else:
            rows = store.checks(conn, org_uscc=actor)
    schools: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        key = (str(r["school_division"]), str(r["school_name"]))
        entry = schools.setdefault(
            key,
            {
                "school_division": key[0],
                "school_name": key[1],
                "checks": 0,
                "counts": counts(()),
                "last_assessed_at": as_utc(r["assessed_at"]).isoformat(),
            },
        )
        entry["checks"] += 1
        entry["counts"] = {k: entry["counts"].get(k, 0) + v for k, v in r["counts"].items()}
    total = counts(())
    for entry in schools.values():
        total = {k: total.get(k, 0) + v for k, v in entry["counts"].items()}
    return {
        "unit": actor,
        "division_code": reader.division.value,
        "schools": sorted(schools.values(), key=lambda s: (s["school_division"], s["school_name"])),
        "total": total,
    }


# --- one child ---------------------------------------------------------------------------------


def child_check(
    engine: Engine, actor: str, record: Mapping[str, Any], level: str, schedule: Schedule | None
) -> dict[str, Any]:
    """The school-entry check of one child from its record (as ``recipients.record`` answers
    it): complete or not, the missing doses, each series' valid doses."""
    if level not in LEVELS:
        raise DomainError(
            Reason.OUT_OF_RANGE, "level is primary (入学) or kindergarten (入托)", field="level"
        )
    schedule = schedule or national_schedule()
    child = record["child"]
    today = date.fromisoformat(record["assessment_date"])
    with read_tx(engine) as conn:
        judge = Judge(conn, today, level, schedule)
        family = store.merged_into(conn, [child["child_id"]])
        doses = store.doses_of(conn, family[child["child_id"]])
        given = [d for ref in family[child["child_id"]] for d in doses.get(ref, ())]
        evaluation = judge.evaluation(date.fromisoformat(child["birth_date"]), child["sex"], given)
    return {
        "child_id": child["child_id"],
        "name": child["name"],
        "sex": child["sex"],
        "birth_date": child["birth_date"],
        "card_no": child["card_no"],
        "level": level,
        "complete": not evaluation["missing"],
        **evaluation,
    }


# --- the results as a file ---------------------------------------------------------------------

STATUS_LABELS = {
    RowStatus.COMPLETE.value: "全程接种",
    RowStatus.INCOMPLETE.value: "需补种",
    RowStatus.NO_MATCH.value: "未找到接种记录",
    RowStatus.AMBIGUOUS.value: "匹配不唯一",
    RowStatus.INVALID.value: "信息有误",
    RowStatus.DUPLICATE_ROW.value: "重复行",
}
"""Each status as the downloaded results write it."""

RESULT_HEADERS = (
    "行号", LABELS["name"], LABELS["sex"], LABELS["birth_date"], LABELS["class_name"],
    "查验结果", "需补种疫苗", "受种者编码", "匹配方式", "说明",
)  # fmt: skip


def _result_cells(r: Mapping[str, Any]) -> list[Any]:
    missing = "；".join(
        f"{m.get('vaccine_name') or m['vaccine']} 第{m['dose']}剂" for m in r.get("missing") or []
    )
    notes = [p["message"] for p in r.get("problems") or []]
    if r.get("duplicate_of"):
        notes.append(f"与第 {r['duplicate_of']} 行重复")
    if r.get("candidates"):
        notes.append(
            "可能是: "
            + "、".join(f"{c['name']}({c['birth_date']}, {c['child_id']})" for c in r["candidates"])
        )
    sex = {"M": "男", "F": "女"}.get(r.get("sex") or "", "")
    return [
        r["row"], r.get("name") or "", sex, r.get("birth_date") or "", r.get("class_name") or "",
        STATUS_LABELS.get(r["status"], r["status"]), missing, r.get("child_id") or "",
        r.get("matched_by") or "", "；".join(notes),
    ]  # fmt: skip


def results_csv(rows: Iterable[Mapping[str, Any]]) -> bytes:
    """The results as CSV with Chinese headers, UTF-8 with a BOM (Excel opens it as such)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(RESULT_HEADERS)
    for r in rows:
        writer.writerow(_result_cells(r))
    return ("\ufeff" + out.getvalue()).encode()


def results_xlsx(rows: Iterable[Mapping[str, Any]]) -> bytes:
    """The results as an XLSX sheet with Chinese headers (openpyxl write-only)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("查验结果")
    sheet.append(list(RESULT_HEADERS))
    for r in rows:
        sheet.append(_result_cells(r))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
