"""Printable documents as PDF (fpdf2), with a CJK TrueType font embedded (subset) so that
Chinese text renders and can be extracted again (``pdftotext``).

``fonts`` finds the font (an explicit path, else ``fc-list :lang=zh-cn``, else the paths of
the Debian packages ``scripts/setup.sh`` installs) and refuses clearly when there is none;
``documents`` renders, from plain data (the JSON the services answer), the school-entry
certificate (入学入托预防接种证查验证明), the catch-up notice (补种通知单) and a child's
vaccination certificate (预防接种证 / 接种记录).
"""

from vaxtrace.pdf.documents import (
    catch_up_notices,
    school_entry_certificates,
    vaccination_certificate,
)
from vaxtrace.pdf.fonts import FontMissing, cjk_font

__all__ = [
    "FontMissing",
    "catch_up_notices",
    "cjk_font",
    "school_entry_certificates",
    "vaccination_certificate",
]
