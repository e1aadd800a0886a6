"""What every CSV export a spreadsheet may open needs, written once; and reading the first
worksheet of an uploaded XLSX workbook (with the standard library: a workbook is a ZIP of XML
parts), for imports that take Excel files as well as CSV."""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from xml.etree import ElementTree

from app.core.problems import ProblemError, field_error

# Excel reads a UTF-8 CSV as UTF-8 only when the file starts with a byte-order mark.
BOM = "\ufeff"
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def text_cell(value: str) -> str:
    """``value`` as a cell a spreadsheet shows as text: caller-supplied text (a name, a
    reason, an id) that would start a formula gets a leading ``'``."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


# --------------------------------------------------------------------------- reading XLSX

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ZIP_MAGIC = b"PK\x03\x04"  # an XLSX workbook is a ZIP file
XLSX_MAX_UNPACKED = 64 * 1024 * 1024  # what the parts read may unpack to: no ZIP bomb
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
# Built-in number formats that show a date (ECMA-376 §18.8.30, and the CJK locales' 27–36, 50–58:
# a Chinese Excel writes 2026年3月1日 as format 31).
_DATE_FORMATS = {*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)}
_QUOTED = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.')


def is_xlsx(content: bytes) -> bool:
    return content.startswith(ZIP_MAGIC)


def _unreadable(why: str) -> ProblemError:
    return ProblemError("validation", f"The file is not a readable XLSX workbook ({why}): save it from Excel as "
                                      "an .xlsx workbook, or as CSV, and upload it again.",
                        errors=[field_error("file", f"not a readable XLSX workbook: {why}", "body")])


def _part(book: zipfile.ZipFile, name: str, *, required: bool = True) -> ElementTree.Element | None:
    try:
        data = book.read(name)
    except KeyError:
        if required:
            raise _unreadable(f"no {name}") from None
        return None
    if b"<!DOCTYPE" in data[:4096].upper():  # a workbook has no DTD: no entity tricks
        raise _unreadable(f"{name} declares a DTD")
    try:
        return ElementTree.fromstring(data)  # noqa: S314 - no DTD (refused above), so no entities to expand
    except ElementTree.ParseError as exc:
        raise _unreadable(f"{name}: {exc}") from None


def _is_date_format(code: str) -> bool:
    shown = _QUOTED.sub("", code).lower()
    return any(c in shown for c in "yd") or ("m" in shown and "h" not in shown and "s" not in shown)


def _date_styles(book: zipfile.ZipFile) -> set[int]:
    """The indexes of the cell styles that show a number as a date."""
    styles = _part(book, "xl/styles.xml", required=False)
    if styles is None:
        return set()
    custom = {int(f.get("numFmtId", "-1")) for f in styles.iterfind("{*}numFmts/{*}numFmt")
              if _is_date_format(f.get("formatCode", ""))}
    return {n for n, xf in enumerate(styles.iterfind("{*}cellXfs/{*}xf"))
            if int(xf.get("numFmtId", "0")) in _DATE_FORMATS | custom}


def _first_sheet(book: zipfile.ZipFile) -> str:
    workbook = _part(book, "xl/workbook.xml")
    assert workbook is not None
    sheet = workbook.find("{*}sheets/{*}sheet")
    rels = _part(book, "xl/_rels/workbook.xml.rels")
    assert rels is not None
    target = next((r.get("Target", "") for r in rels if sheet is not None and r.get("Id") == sheet.get(_REL)), "")
    if not target:
        raise _unreadable("no worksheet")
    return target.lstrip("/") if target.startswith("/") else "xl/" + target


def _column(reference: str) -> int:
    """``C7`` → 2: a cell's column, from 0."""
    n = 0
    for c in reference:
        if not c.isalpha():
            break
        n = n * 26 + ord(c.upper()) - 64
    return n - 1


def _number(raw: str, dated: bool, epoch: date) -> str:
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return raw
    if dated and 0 < value < 2958466:  # up to 9999-12-31
        return (epoch + timedelta(days=int(value))).isoformat()
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def read_xlsx(content: bytes) -> list[tuple[int, list[str]]]:
    """The first worksheet's rows as (row number, cell texts): shared and inline strings as
    written, numbers in plain notation, date cells as ISO dates (2026-03-01), booleans as 1/0.
    422 naming the problem when the file is no workbook this can read."""
    try:
        return _read_xlsx(content)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
        # A damaged or encrypted archive, a compression it does not use, a number that is none.
        raise _unreadable(str(exc) or type(exc).__name__) from None


def _read_xlsx(content: bytes) -> list[tuple[int, list[str]]]:
    book = zipfile.ZipFile(io.BytesIO(content))
    with book:
        if sum(i.file_size for i in book.infolist()) > XLSX_MAX_UNPACKED:
            raise _unreadable(f"it unpacks to more than {XLSX_MAX_UNPACKED // (1024 * 1024)} MB")
        workbook = _part(book, "xl/workbook.xml")
        assert workbook is not None
        pr = workbook.find("{*}workbookPr")
        epoch = date(1904, 1, 1) if pr is not None and pr.get("date1904") in ("1", "true") else date(1899, 12, 30)
        shared = _part(book, "xl/sharedStrings.xml", required=False)
        strings = ["".join(t.text or "" for t in si.iter() if t.tag.endswith("}t") and t not in _phonetic(si))
                   for si in (shared.iterfind("{*}si") if shared is not None else [])]
        dates = _date_styles(book)
        sheet = _part(book, _first_sheet(book))
        assert sheet is not None
    rows: list[tuple[int, list[str]]] = []
    for row in sheet.iterfind("{*}sheetData/{*}row"):
        cells: dict[int, str] = {}
        for position, cell in enumerate(row.iterfind("{*}c")):
            kind, value = cell.get("t", "n"), cell.find("{*}v")
            raw = (value.text or "") if value is not None else ""
            if kind == "s":
                text = strings[int(raw)] if raw.isdigit() and int(raw) < len(strings) else ""
            elif kind == "inlineStr":
                text = "".join(t.text or "" for t in cell.iterfind("{*}is//{*}t"))
            elif kind == "n":
                text = _number(raw, int(cell.get("s", "0")) in dates, epoch) if raw else ""
            else:  # str (a formula's text), b (1/0), e (an error such as #N/A)
                text = raw
            cells[_column(cell.get("r", "")) if cell.get("r") else position] = text
        if cells:
            rows.append((int(row.get("r", len(rows) + 1)), [cells.get(i, "") for i in range(max(cells) + 1)]))
    return rows


def _phonetic(si: ElementTree.Element) -> set[ElementTree.Element]:
    """The phonetic guide's texts (``rPh``) of a shared string: not part of what the cell shows."""
    return {t for ph in si.iterfind("{*}rPh") for t in ph.iter()}
