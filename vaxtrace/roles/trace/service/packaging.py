"""Packaging after commissioning: 装箱 pack, 拆箱 unpack, 换码 replace a damaged label."""

from __future__ import annotations

from typing import Any

from vaxtrace.core.datasets.production import Pack, Replace, Unpack
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.status import Action, Status, refusal
from vaxtrace.core.times import Clock
from vaxtrace.roles.trace.service.lookups import held_code, parse
from vaxtrace.roles.trace.service.writes import check_codes_order, write
from vaxtrace.store.engine import Connection, Engine, RowMapping
from vaxtrace.store.trace.codes import existing_codes, insert_codes, mark_replaced, next_code_id
from vaxtrace.store.trace.events import EventHeader, append_event, link_codes
from vaxtrace.store.trace.packing import children_ids, clear_parent, move_children, set_parent
from vaxtrace.store.trace.registry import identification_codes_of
from vaxtrace.store.write_frame import WriteResult


def pack(engine: Engine, actor: str, request: Pack, clock: Clock) -> WriteResult:
    """装箱: put codes into a container one level up."""

    def apply(conn: Connection, header: EventHeader) -> tuple[int, dict[str, Any]]:
        parent = held_code(conn, actor, request.parent, "parent")
        kids = [held_code(conn, actor, c, f"children[{i}]") for i, c in enumerate(request.children)]
        if len({k["id"] for k in kids}) != len(kids):
            raise DomainError(Reason.DUPLICATE_CODE, "a child is listed twice", field="children")
        capacity = identification_codes_of(conn, parent["product_id"])[parent["level"]]
        room = capacity["children"] - len(children_ids(conn, parent["id"]))
        for i, kid in enumerate(kids):
            _check_packable(parent, kid, f"children[{i}]")
        if len(kids) > room:
            raise DomainError(
                Reason.OVER_CAPACITY,
                f"{parent['code']} has room for {room} more, not {len(kids)}",
                field="children",
            )
        check_codes_order(conn, header, [parent, *kids])
        event_id = append_event(
            conn, header, {"parent": parent["code"], "children": [k["code"] for k in kids]}
        )
        set_parent(conn, [k["id"] for k in kids], parent["id"], event_id)
        link_codes(conn, [parent["id"], *(k["id"] for k in kids)], event_id)
        return event_id, {"parent": parent["code"], "packed": len(kids)}

    return write(engine, actor, "pack", request, apply, bill_type="pack", clock=clock)


def _check_packable(parent: RowMapping, kid: RowMapping, field: str) -> None:
    """A loose code of the level below and of the same batch goes into ``parent``."""
    if kid["level"] != parent["level"] - 1:
        raise DomainError(
            Reason.LEVEL_MISMATCH,
            f"a level {kid['level']} code cannot go into a level {parent['level']} one",
            field=field,
        )
    if kid["batch_id"] != parent["batch_id"]:
        raise DomainError(Reason.MIXED_BATCH, f"{kid['code']} is of another batch", field=field)
    if kid["parent_id"] is not None:
        raise DomainError(
            Reason.ALREADY_PACKED,
            f"{kid['code']} is already inside another container; unpack it first",
            field=field,
        )


def unpack(engine: Engine, actor: str, request: Unpack, clock: Clock) -> WriteResult:
    """拆箱: take codes out of a container (all of them when none are named)."""

    def apply(conn: Connection, header: EventHeader) -> tuple[int, dict[str, Any]]:
        parent = held_code(conn, actor, request.parent, "parent")
        inside = set(children_ids(conn, parent["id"]))
        if request.children is None:
            ids = sorted(inside)
        else:
            ids = []
            for i, value in enumerate(request.children):
                kid = held_code(conn, actor, value, f"children[{i}]")
                if kid["id"] not in inside:
                    raise DomainError(
                        Reason.NOT_IN_CONTAINER,
                        f"{kid['code']} is not inside {parent['code']}",
                        field=f"children[{i}]",
                    )
                ids.append(kid["id"])
        check_codes_order(conn, header, [parent])
        event_id = append_event(conn, header, {"parent": parent["code"]})
        link_codes(conn, [parent["id"], *ids], event_id)
        clear_parent(conn, ids, event_id)
        return event_id, {"parent": parent["code"], "unpacked": len(ids)}

    return write(engine, actor, "unpack", request, apply, bill_type="unpack", clock=clock)


def replace(engine: Engine, actor: str, request: Replace, clock: Clock) -> WriteResult:
    """换码: a damaged label gets a new code; the old one is suspended (已停用)."""

    def apply(conn: Connection, header: EventHeader) -> tuple[int, dict[str, Any]]:
        old = held_code(conn, actor, request.old_code, "old_code")
        if old["replaced_by_id"] is not None:
            # else a second new code would inherit the old one's suspended status
            raise DomainError(
                Reason.ALREADY_REPLACED,
                f"{old['code']} was already replaced; replace its new code instead",
                field="old_code",
            )
        why = refusal(Status(old["status"]), Action.SUSPEND)
        if why is not None:
            raise DomainError(why.reason, why.message, field="old_code")
        new = parse(request.new_code, "new_code")
        ident = identification_codes_of(conn, old["product_id"])[old["level"]]
        if new.identification_code != ident["code"]:
            raise DomainError(
                Reason.UNKNOWN_IDENTIFICATION_CODE,
                f"the new code must carry identification code {ident['code']}",
                field="new_code",
            )
        if existing_codes(conn, [new.value]):
            raise DomainError(
                Reason.ALREADY_COMMISSIONED, f"{new.value} is already in use", field="new_code"
            )
        check_codes_order(conn, header, [old])
        event_id = append_event(
            conn,
            header,
            {"old_code": old["code"], "new_code": new.value, "reason": request.reason},
        )
        new_id = next_code_id(conn)
        insert_codes(
            conn,
            [
                (
                    new_id,
                    new.value,
                    old["level"],
                    old["product_id"],
                    old["batch_id"],
                    old["parent_id"],
                    event_id if old["parent_id"] is not None else None,
                    old["status"],
                    old["holder_uscc"],
                    event_id,
                )
            ],
        )
        if old["parent_id"] is not None:
            clear_parent(conn, [old["id"]], event_id)
        move_children(conn, old["id"], new_id, event_id)
        mark_replaced(conn, old["id"], new_id)
        link_codes(conn, [old["id"], new_id], event_id)
        return event_id, {"old_code": old["code"], "new_code": new.value}

    return write(engine, actor, "replace", request, apply, bill_type="replace", clock=clock)
