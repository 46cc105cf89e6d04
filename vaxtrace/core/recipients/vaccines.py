"""Which schedule vaccine (the schedule's short name: ``HepB``, ``DTaP``, ``MMR``…) a dose
given is, from its product: the product's generic name (通用名) in the registry's copy, else
its product code. A product of none (a non-programme vaccine, an unknown product) answers
None: the dose is listed in a child's record but not evaluated.

Generic names are matched by the words the Pharmacopoeia's names use, most specific first
(A群C群 before A群; 白破 only when not 百白破). A product code matches when it starts with a
short name (``HEPB-10`` is HepB), longest name first (``HEPA-I`` before ``HEPA``).
"""

from __future__ import annotations

from collections.abc import Iterable

NAME_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("MPSV-AC", ("A群C群", "A、C群", "AC群")),
    ("MPSV-A", ("A群脑膜炎", "A群流脑")),
    ("HepA-L", ("甲型肝炎减毒", "甲肝减毒")),
    ("HepA-I", ("甲型肝炎灭活", "甲肝灭活")),
    ("HepB", ("乙型肝炎", "乙肝")),
    ("BCG", ("卡介苗",)),
    ("IPV", ("脊髓灰质炎灭活", "脊灰灭活", "Sabin株脊髓灰质炎灭活")),
    ("bOPV", ("二价脊髓灰质炎减毒", "二价脊灰减毒", "脊髓灰质炎减毒")),
    ("DTaP", ("百白破", "百日咳、白喉、破伤风")),
    ("DT", ("白喉破伤风", "白破")),
    ("MMR", ("麻腮风", "麻疹腮腺炎风疹")),
    ("JE-L", ("乙型脑炎减毒", "乙脑减毒")),
    ("JE-I", ("乙型脑炎灭活", "乙脑灭活")),
)


def vaccine_of(
    product_code: str | None, generic_name: str | None, short_names: Iterable[str]
) -> str | None:
    """The schedule's short name for a dose's product, or None."""
    known = set(short_names)
    if generic_name:
        for vaccine, words in NAME_WORDS:
            if vaccine in known and any(word in generic_name for word in words):
                return vaccine
    if product_code:
        code = product_code.upper()
        for vaccine in sorted(known, key=len, reverse=True):
            if code == vaccine.upper() or code.startswith(vaccine.upper() + "-"):
                return vaccine
    return None
