"""The CJK font a PDF embeds, found at run time."""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason

KNOWN = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # Debian fonts-wqy-zenhei
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # Debian fonts-wqy-microhei
    "/usr/share/fonts/truetype/arphic/uming.ttc",  # Debian fonts-arphic-uming
)
"""TrueType CJK fonts of Debian packages, in the order they are preferred."""

PREFERRED = ("wqy-zenhei", "wqy-microhei", "uming", "ukai", "droidsansfallback")
"""Fonts ``fc-list`` may name, best first (TrueType outlines: fpdf2 embeds them as such)."""


class FontMissing(DomainError):
    """No CJK font: Chinese text cannot be rendered."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            Reason.NO_PDF_FONT,
            f"no CJK TrueType font for PDFs ({detail}): install fonts-wqy-zenhei "
            "(scripts/setup.sh does) or name a .ttf/.ttc file",
        )


def _fc_list() -> list[str]:
    """The font files fontconfig says cover simplified Chinese."""
    if shutil.which("fc-list") is None:
        return []
    try:
        done = subprocess.run(
            ["fc-list", ":lang=zh-cn", "file"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip().rstrip(":") for line in done.stdout.splitlines() if line.strip()]


def _rank(path: str) -> tuple[int, str]:
    name = Path(path).name.lower()
    for i, preferred in enumerate(PREFERRED):
        if preferred in name.replace("_", "-"):
            return i, path
    return len(PREFERRED), path


@lru_cache(maxsize=8)
def cjk_font(explicit: str | None = None) -> Path:
    """The CJK font file to embed: ``explicit`` (it must exist), else the best TrueType font
    fontconfig lists for zh-cn, else a known Debian path; :class:`FontMissing` when none."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise FontMissing(f"{explicit} is not a file")
        return path
    listed = [p for p in _fc_list() if p.lower().endswith((".ttf", ".ttc"))]
    for name in sorted(listed, key=_rank):
        if Path(name).is_file():
            return Path(name)
    for known in KNOWN:
        if Path(known).is_file():
            return Path(known)
    raise FontMissing("fontconfig lists none for zh-cn and none of the Debian paths exists")
