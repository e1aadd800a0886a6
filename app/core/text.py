"""Reading an uploaded text file whose encoding nobody declared: UTF-8 (with or without a
byte-order mark), or what a Chinese Excel saves a CSV in (GBK/GB18030, Big5). Used by every
import that takes a CSV file (customers, the overdue feed)."""

from __future__ import annotations

from charset_normalizer import from_bytes

from app.core.problems import ProblemError, field_error

# What a spreadsheet saved by a Chinese Excel is in, besides UTF-8: GB18030 reads GBK and GB2312 too.
CHINESE = {"gb18030", "gbk", "gb2312", "cp936", "hz", "big5", "big5hkscs", "cp950"}


def _problem(detail: str, reason: str) -> ProblemError:
    return ProblemError("validation", detail, errors=[field_error("file", reason, "body")])


def decode(content: bytes) -> tuple[str, str]:
    """The file's text and the encoding it was read with; 422 when neither UTF-8 nor
    detectable as a Chinese encoding."""
    if not content.strip():
        raise _problem("The file is empty.", "empty")
    try:
        return content.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(content).best()
    name = (best.encoding if best is not None else "").lower().replace("-", "_")
    if best is None or name not in CHINESE:
        seen = f"it looks like {best.encoding}" if best is not None else "it could not be detected"
        raise _problem(f"The file is neither UTF-8 nor GBK/GB18030 ({seen}): save it as UTF-8 (or from Excel as "
                       "CSV in the Chinese encoding) and upload it again.", "unsupported or undetectable encoding")
    # GB18030 is a superset of GBK and GB2312: reading with it never loses a character they have.
    encoding = "gb18030" if name in {"gbk", "gb2312", "cp936", "gb18030"} else name
    try:
        return content.decode(encoding), encoding
    except UnicodeDecodeError:
        raise _problem(f"The file is not valid {encoding}: save it as UTF-8 and upload it again.",
                       f"not valid {encoding}") from None
