"""The coding-rule registry (编码规则): a trace system registers the coding rules of the MAHs
it represents, and no two MAHs' rules may overlap, so every code has one owner; which entry
covers a code is what address resolution and product registration ask."""

from __future__ import annotations

from typing import Any

from vaxtrace.core.datasets.basic_data import CodeFamilyName
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.registry import RegisteredCodingRule, RuleEntryKind, SystemRole, gtin_prefixes
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.store.engine import Connection, Engine, RowMapping, write_tx
from vaxtrace.store.platform import registry


def register_coding_rule(
    engine: Engine, caller: SystemIdentity, rule: RegisteredCodingRule
) -> dict[str, Any]:
    """A trace system registers a MAH's coding rule; overlaps with another MAH's refused."""
    with write_tx(engine) as conn:
        check_caller(conn, caller, rule.mah_uscc)
        entries = list(rule.entries)
        taken = {r["entry"] for r in _refuse_overlaps(conn, rule, entries)}
        fresh = [e for e in entries if e not in taken]
        if not fresh:  # published again, as trace systems do: nothing new
            return {"rule_id": None, "entries": 0, "already_registered": len(taken)}
        rule_id = registry.add_rule(
            conn, caller.system_id, rule.mah_uscc, rule.model_dump(mode="json")
        )
        registry.add_entries(conn, rule_id, rule.kind.value, fresh, rule.mah_uscc, caller.system_id)
    return {"rule_id": rule_id, "entries": len(fresh), "already_registered": len(taken)}


def check_caller(conn: Connection, caller: SystemIdentity, mah_uscc: str) -> None:
    """Only a registered trace system, run by the certificate's organisation, registers for a
    MAH it represents."""
    found = registry.find_system(conn, caller.system_id)
    if found is None:
        raise DomainError(Reason.UNKNOWN_SYSTEM, f"{caller.system_id} is not a registered system")
    data = found["data"]
    if data["role"] != SystemRole.TRACE.value:
        raise DomainError(
            Reason.NOT_A_TRACE_SYSTEM, "only trace systems register coding rules and products"
        )
    if data["operator_uscc"] != caller.org_uscc:
        raise DomainError(
            Reason.CERTIFICATE_MISMATCH, "the certificate's organisation does not run this system"
        )
    if mah_uscc not in data["represents"]:
        raise DomainError(
            Reason.NOT_REPRESENTED,
            f"{caller.system_id} does not represent {mah_uscc}",
            field="mah_uscc",
        )


def _refuse_overlaps(
    conn: Connection, rule: RegisteredCodingRule, entries: list[str]
) -> list[RowMapping]:
    """Refuse a rule overlapping another MAH's; answers the entries already registered
    (the same MAH's, of the same kind: a rule published again)."""
    clashes: list[tuple[str, str]] = []
    exact = RuleEntryKind.IDENTIFICATION_CODE.value
    prefix = RuleEntryKind.GS1_COMPANY_PREFIX.value
    registered = registry.entries_in(conn, entries)
    for row in registered:
        if row["mah_uscc"] != rule.mah_uscc or row["kind"] != rule.kind.value:
            clashes.append((row["entry"], row["mah_uscc"]))
    if rule.family is CodeFamilyName.GS1:
        for entry in entries:
            if rule.kind is RuleEntryKind.IDENTIFICATION_CODE:
                covering = registry.entries_in(conn, gtin_prefixes(entry), prefix)
            else:  # a company prefix clashes with prefixes above or below it and with
                # every GTIN (any indicator digit) under it
                covering = registry.entries_in(
                    conn, [entry[:n] for n in range(6, len(entry) + 1)], prefix
                ) + registry.entries_starting(conn, entry, prefix, rule.mah_uscc)
                covering += [
                    r
                    for d in "0123456789"
                    for r in registry.entries_starting(conn, d + entry, exact, rule.mah_uscc)
                ]
            clashes += [
                (r["entry"], r["mah_uscc"]) for r in covering if r["mah_uscc"] != rule.mah_uscc
            ]
    if clashes:
        entry, owner = clashes[0]
        raise DomainError(
            Reason.OVERLAPPING_RULE,
            f"{len(clashes)} entr(ies) overlap another MAH's rule, e.g. {entry} of {owner}",
            field="entries",
        )
    return registered


def entry_covering(conn: Connection, identification_code: str, *, gs1: bool) -> Any:
    """The coding-rule entry that covers an identification code: the code itself, else (GS1)
    the longest company prefix it falls under; None if no rule covers it."""
    exact = registry.entries_in(
        conn, [identification_code], RuleEntryKind.IDENTIFICATION_CODE.value
    )
    if exact:
        return exact[0]
    if gs1:
        prefixes = gtin_prefixes(identification_code)
        found = registry.entries_in(conn, prefixes, RuleEntryKind.GS1_COMPANY_PREFIX.value)
        if found:
            return max(found, key=lambda r: len(r["entry"]))
    return None
