"""赋码 commissioning: issue a batch's codes with their packaging hierarchy.

The hierarchy is either generated (``cases`` full top-level units, fresh serials) or uploaded
(``relations``: every code with its level and parent, as printed by the packaging line).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import count
from typing import Any

from vaxtrace.core import codes as codes_
from vaxtrace.core.datasets.production import Commission
from vaxtrace.core.errors import DomainError, examples
from vaxtrace.core.reasons import Reason
from vaxtrace.core.replay import CodesRoot
from vaxtrace.core.status import Status
from vaxtrace.core.times import Clock
from vaxtrace.roles.trace.service.lookups import own_batch, parse
from vaxtrace.roles.trace.service.writes import check_batches_order, write
from vaxtrace.store.engine import Connection, Engine, RowMapping
from vaxtrace.store.trace.codes import (
    doses_commissioned,
    existing_codes,
    insert_codes,
    max_serial,
    next_code_id,
)
from vaxtrace.store.trace.events import EventHeader, append_event, link_batches
from vaxtrace.store.trace.quality import inspected
from vaxtrace.store.trace.registry import identification_codes_of
from vaxtrace.store.trace.replay import record_commission
from vaxtrace.store.write_frame import WriteResult


def commission(engine: Engine, actor: str, request: Commission, clock: Clock) -> WriteResult:
    """赋码: issue codes for a batch with its packaging hierarchy (generated or uploaded), not
    before the batch's production date."""

    def apply(conn: Connection, header: EventHeader) -> tuple[int, dict[str, Any]]:
        found = own_batch(conn, actor, request.batch_no)
        check_batches_order(conn, header, [found["id"]])
        if inspected(conn, found["id"]):
            # later codes would miss the batch's inspection and release for good
            raise DomainError(
                Reason.BATCH_INSPECTED,
                f"batch {request.batch_no} is already inspected; codes are issued before",
                field="batch_no",
            )
        levels = identification_codes_of(conn, found["product_id"])
        event_id = append_event(conn, header, {"batch_no": request.batch_no, "kind": "commission"})
        if request.cases is not None:
            counts = _generate(conn, found, levels, request.cases, event_id, actor)
        else:
            assert request.relations is not None
            counts = _upload(conn, found, levels, request.relations, event_id, actor)
        doses = doses_commissioned(conn, found["id"])
        if doses > found["quantity"]:
            raise DomainError(
                Reason.EXCEEDS_BATCH_QUANTITY,
                f"batch {request.batch_no} is {found['quantity']} doses; this would make {doses}",
                field="cases" if request.cases is not None else "relations",
            )
        link_batches(conn, [found["id"]], event_id)
        return event_id, {
            "batch_no": request.batch_no,
            "codes_by_level": {str(k): v for k, v in sorted(counts.items())},
        }

    return write(engine, actor, "commission", request, apply, bill_type="commission", clock=clock)


def _generate(
    conn: Connection,
    found: RowMapping,
    levels: dict[int, RowMapping],
    units: int,
    event_id: int,
    actor: str,
) -> dict[int, int]:
    """Issue ``units`` full top-level units; answers the codes made per level."""
    top = max(levels)
    per_unit = {lvl: levels[lvl]["children"] for lvl in levels}
    total = {top: units}
    for lvl in range(top - 1, 0, -1):
        total[lvl] = total[lvl + 1] * per_unit[lvl + 1]
    if total[1] > found["quantity"]:
        raise DomainError(
            Reason.EXCEEDS_BATCH_QUANTITY,
            f"{units} full unit(s) hold {total[1]} doses; batch {found['batch_no']} "
            f"is {found['quantity']}",
            field="cases",
        )
    issuers = {lvl: _serials(conn, found["family"], levels[lvl]["code"]) for lvl in levels}
    first_id = next_code_id(conn)
    rows = _hierarchy_rows(top, units, per_unit, issuers, first_id, found, event_id, actor)
    _issue(conn, rows, event_id, first_id)
    return total


def _upload(
    conn: Connection,
    found: RowMapping,
    levels: dict[int, RowMapping],
    relations: Sequence[Any],
    event_id: int,
    actor: str,
) -> dict[int, int]:
    """Issue an uploaded hierarchy; answers the codes made per level."""
    parsed = _parse_relations(found, levels, relations)
    _check_parents(parsed)
    taken = existing_codes(conn, list(parsed))
    if taken:
        raise DomainError(
            Reason.ALREADY_COMMISSIONED,
            f"code(s) already commissioned (codes are never reused): {examples(taken)}",
            field="relations",
        )
    first_id = next_code_id(conn)
    ids = {value: first_id + i for i, value in enumerate(parsed)}
    rows = [
        (
            ids[value],
            value,
            lvl,
            found["product_id"],
            found["id"],
            None if parent is None else ids[parent],
            None if parent is None else event_id,
            Status.OTHER.value,
            actor,
            event_id,
        )
        for value, (lvl, parent) in parsed.items()
    ]
    _issue(conn, rows, event_id, first_id)
    counts: dict[int, int] = {}
    for lvl, _parent in parsed.values():
        counts[lvl] = counts.get(lvl, 0) + 1
    return counts


def _issue(conn: Connection, rows: Iterable[tuple[Any, ...]], event_id: int, first_id: int) -> None:
    """Insert a commission's code rows (ids from ``first_id``, in id order) and keep them as
    issued with their root, which the commission's leaf carries."""
    tree = CodesRoot()

    def hashed() -> Iterator[tuple[Any, ...]]:
        for row in rows:
            tree.add(row[0], row[1], row[2], row[5])
            yield row

    insert_codes(conn, hashed())  # streamed: one COPY / executemany, bounded memory
    record_commission(conn, event_id, first_id, tree.codes, tree.root())


def _parse_relations(
    found: RowMapping, levels: dict[int, RowMapping], relations: Sequence[Any]
) -> dict[str, tuple[int, str | None]]:
    """Each uploaded code (canonical form) with its level and its parent's code."""
    by_ident = {row["code"]: lvl for lvl, row in levels.items()}
    parsed: dict[str, tuple[int, str | None]] = {}
    for index, rel in enumerate(relations):
        field = f"relations[{index}]"
        code = parse(rel.code, f"{field}.code")
        if code.batch_no is not None and code.batch_no != found["batch_no"]:
            raise DomainError(
                Reason.BATCH_MISMATCH,
                f"{rel.code}: the code carries batch {code.batch_no}, not {found['batch_no']}",
                field=f"{field}.code",
            )
        if by_ident.get(code.identification_code) != int(rel.level):
            raise DomainError(
                Reason.UNKNOWN_IDENTIFICATION_CODE,
                f"{rel.code}: identification code {code.identification_code} is not "
                f"level {int(rel.level)} of product {found['product_data']['product_code']}",
                field=f"{field}.code",
            )
        parent = None if rel.parent is None else parse(rel.parent, f"{field}.parent")
        parent_value = None if parent is None else parent.value
        if code.value in parsed:
            reason = (
                Reason.TWO_PARENTS
                if parsed[code.value][1] != parent_value
                else Reason.DUPLICATE_CODE
            )
            raise DomainError(
                reason, f"{rel.code} appears twice in the file", field=f"{field}.code"
            )
        parsed[code.value] = (int(rel.level), parent_value)
    return parsed


def _check_parents(parsed: dict[str, tuple[int, str | None]]) -> None:
    """Every parent is in the file, one level up."""
    for index, (value, (lvl, parent_value)) in enumerate(parsed.items()):
        if parent_value is None:
            continue
        if parent_value not in parsed:
            raise DomainError(
                Reason.UNKNOWN_PARENT,
                f"parent {parent_value} of {value} is not in the file",
                field=f"relations[{index}].parent",
            )
        if parsed[parent_value][0] != lvl + 1:
            raise DomainError(
                Reason.LEVEL_MISMATCH,
                f"{value} (level {lvl}) cannot go into {parent_value} "
                f"(level {parsed[parent_value][0]})",
                field=f"relations[{index}].parent",
            )


def _serials(conn: Connection, family: str, identification: str) -> Iterator[str]:
    """Fresh codes under one identification code, continuing after the highest issued.

    The highest serial is read now, not lazily: the codes are consumed while a COPY holds
    the connection.
    """
    width = 12
    start = max(max_serial(conn, identification, width) + 1, 1)
    if family == codes_.CodeFamily.NMPA20.value:
        return (codes_.issue_nmpa20(identification, n) for n in count(start))
    return (codes_.gs1_canonical(identification, f"{n:0{width}d}") for n in count(start))


def _hierarchy_rows(
    top: int,
    units: int,
    per_unit: dict[int, int],
    issuers: dict[int, Iterator[str]],
    first_id: int,
    found: RowMapping,
    event_id: int,
    actor: str,
) -> Iterator[tuple[Any, ...]]:
    """Rows for ``units`` full top-level units, depth first, parents before children."""
    next_id = first_id
    product_id, batch_id, status = found["product_id"], found["id"], Status.OTHER.value

    def unit(level: int, parent: int | None, out: list[tuple[Any, ...]]) -> None:
        nonlocal next_id
        my_id = next_id
        next_id += 1
        since = None if parent is None else event_id
        out.append(
            (
                my_id,
                next(issuers[level]),
                level,
                product_id,
                batch_id,
                parent,
                since,
                status,
                actor,
                event_id,
            )
        )
        for _ in range(per_unit[level] if level > 1 else 0):
            unit(level - 1, my_id, out)

    for _ in range(units):
        rows: list[tuple[Any, ...]] = []
        unit(top, None, rows)
        yield from rows
