"""The school-entry check (入学入托查验), pure: a kindergarten's or school's roster read as a
stream (``roster``: CSV or XLSX, Chinese or English headers, each row's faults named by row
and column) and each row matched to a registered child and judged (``decide``: exactly by
card number or resident id, else by likeness; complete, incomplete, no match, ambiguous,
invalid, duplicate row). The schedule's own school-entry check
(:func:`vaxtrace.core.schedule.evaluate`) says which doses are missing."""

from vaxtrace.core.school_entry.decide import (
    CANDIDATE,
    MATCH,
    Decision,
    Duplicates,
    Known,
    RowStatus,
    Scored,
    candidate_view,
    counts,
    decide,
    masked,
)
from vaxtrace.core.school_entry.roster import (
    COLUMNS,
    LABELS,
    MAX_ROWS,
    RosterRow,
    RowProblem,
    read_roster,
    read_rows,
    write_roster,
)

__all__ = [
    "CANDIDATE",
    "COLUMNS",
    "LABELS",
    "MATCH",
    "MAX_ROWS",
    "Decision",
    "Duplicates",
    "Known",
    "RosterRow",
    "RowProblem",
    "RowStatus",
    "Scored",
    "candidate_view",
    "counts",
    "decide",
    "masked",
    "read_roster",
    "read_rows",
    "write_roster",
]
