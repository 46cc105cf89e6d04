"""The check that a journal role's tables mirror its journal (see vaxtrace.store.mirrors): an
operator who inserts, deletes or alters a history row without a matching entry is named."""

from __future__ import annotations

from vaxtrace.log.verify import Check, LogUnderCheck
from vaxtrace.store.ledger import Verdict
from vaxtrace.store.mirrors import MIRRORS, first_difference_in


def tables_mirror_journal(role: str) -> Check:
    """A check of ``role``'s tables against its journal, after the log's own checks (once the
    entries are known to be the log's, the rows are compared with them)."""

    def tables_mirror(log: LogUnderCheck) -> Verdict | None:
        found = first_difference_in(log.conn, role)
        if found is None:
            return None
        mirror, difference = found
        return log.failed(
            f"the tables differ from the log: {role} {mirror.table.name}: {difference.describe()}",
            difference.entry_id,
        )

    return tables_mirror


def mirrored_tables(role: str) -> list[str]:
    """The tables compared with ``role``'s journal."""
    return [mirror.table.name for mirror in MIRRORS[role].mirrors]
