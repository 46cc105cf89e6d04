"""Recipients (受种者): the children a province's vaccination sites register, their guardians,
moves between sites and provinces, merges of duplicates, and the pure rules over them.

``model`` has what a request carries and how it is checked (birth date not in the future, a
resident id checked with ``stdnum.cn.ric`` and agreeing with the birth date); ``matching``
finds duplicate candidates (pinyin and typo tolerant); ``vaccines`` names the schedule vaccine
a dose's product is. Personal data never leaves the province: a child is known outside it, if
at all, by its pseudonymous id (``ch-`` and 16 hex digits) and a digest of its data.
"""

from vaxtrace.core.recipients.matching import Candidate, Person, candidates, duplicate_pairs
from vaxtrace.core.recipients.model import (
    CHILD_ID_PREFIX,
    ChildExport,
    ChildMerge,
    ChildMove,
    ChildRegistration,
    Consent,
    Guardian,
    check_registration,
    is_child_id,
    new_child_id,
    personal_digest,
)
from vaxtrace.core.recipients.vaccines import vaccine_of

__all__ = [
    "CHILD_ID_PREFIX",
    "Candidate",
    "ChildExport",
    "ChildMerge",
    "ChildMove",
    "ChildRegistration",
    "Consent",
    "Guardian",
    "Person",
    "candidates",
    "check_registration",
    "duplicate_pairs",
    "is_child_id",
    "new_child_id",
    "personal_digest",
    "vaccine_of",
]
