"""What every CSV export a spreadsheet may open needs, written once."""

from __future__ import annotations

# Excel reads a UTF-8 CSV as UTF-8 only when the file starts with a byte-order mark.
BOM = "\ufeff"
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def text_cell(value: str) -> str:
    """``value`` as a cell a spreadsheet shows as text: caller-supplied text (a name, a
    reason, an id) that would start a formula gets a leading ``'``."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value
