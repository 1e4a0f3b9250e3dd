"""CSV and XLSX files read as tables of text (:class:`~gridmap.io.layers.SourceTable`), rows
numbered as Excel numbers them (the header is row 1, the first record row 2).

CSV: the encoding detected or the file refused (:func:`~gridmap.io.encodings.decode_text`),
the delimiter sniffed from the header line; a file of only whitespace or delimiters, a cell
longer than Python's CSV limit (128 KB), a row of another width than the header and a NUL
character are refused with a sentence naming the row (and field).

XLSX: the workbook passes the one container check (:mod:`~gridmap.io.containers`: no password,
a known compression, at most :data:`gridmap.settings.IMPORT_MAX_BYTES` once unpacked) and
points nowhere outside itself (:func:`~gridmap.io.offline.xlsx_reference`) before openpyxl opens
it; the first sheet is read without trusting its ``<dimension>`` header (a stale one would
hide rows). Formula cells are refused, naming row and column, rather than read from the value
Excel cached: a workbook written by another program has no cached value (it would import as an
empty cell), and a cached value need not match its formula, so only a value the user can see
in the file is imported.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

from gridmap.i18n import pair
from gridmap.io.containers import checked_archive, damaged, read_member
from gridmap.io.encodings import decode_text, nul_issue, nul_issues
from gridmap.io.layers import ImportRejected, Issue, SourceTable, file_error
from gridmap.io.offline import xlsx_reference
from gridmap.io.spreadsheets import unneutralise_formula

#: The first bytes of an OLE compound file: a legacy .xls, or an XLSX encrypted by Excel.
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

_NO_CONTENT = pair("文件没有内容")


def check_header(header: list[Any], shown: str) -> None:
    """Refuse a header row that is empty, has a column without a name, or a name twice."""
    names = [str(h).strip() if h is not None else "" for h in header]
    if not any(names):
        raise file_error(shown, "第 1 行(表头)是空的", "row 1 (the header) is empty")
    blank = [i + 1 for i, n in enumerate(names) if not n]
    if blank:
        raise file_error(
            shown, f"表头第 {blank[0]} 列没有列名", f"header column {blank[0]} has no name"
        )
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise file_error(shown, f"表头中列名 {n!r} 重复", f"column {n!r} appears twice")
        seen.add(n)


def _raise_nuls(frame: pd.DataFrame, numbers: list[int], shown: str) -> None:
    issues = nul_issues(frame, numbers)
    if issues:
        raise ImportRejected(shown, issues)


# --- CSV -----------------------------------------------------------------------------------------


def _csv_records(text: str, delimiter: str, shown: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[list[str]] = []
    try:
        for record in reader:
            records.append(record)
    except csv.Error as exc:
        row = len(records) + 1
        if "field larger than field limit" in str(exc):
            limit = csv.field_size_limit() // 1024
            raise ImportRejected(
                shown,
                [
                    Issue(
                        f"有一个单元格超过 {limit} KB(多半是引号没有配对,把后面的行都并进了"
                        "一个单元格);请检查引号后另存",
                        f"a cell is longer than {limit} KB (an unmatched quote, swallowing the "
                        "rows after it?); check the quotes and save again",
                        row=row,
                    )
                ],
            ) from exc
        raise ImportRejected(
            shown, [Issue(f"CSV 格式错误({exc})", f"malformed CSV: {exc}", row=row)]
        ) from exc
    return records


def read_csv(path: Path, shown: str) -> SourceTable:
    """Read a CSV (or ``.txt``) file as text: see the module's docstring."""
    text, encoding = decode_text(path.read_bytes(), shown)
    if not text.strip():
        raise file_error(shown, *_NO_CONTENT)
    if text.lstrip().lower().startswith(("<!doctype", "<html", "<?xml")):
        raise file_error(
            shown,
            "文件内容是 HTML/XML(可能是下载时得到的网页),不是 CSV",
            "the file holds HTML/XML (perhaps a web page saved by mistake), not CSV",
        )
    first = next((line for line in text[:65536].splitlines() if line.strip()), "")
    try:
        delimiter = csv.Sniffer().sniff(first, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    records = _csv_records(text, delimiter, shown)
    numbered = [(n, r) for n, r in enumerate(records, start=1) if any(c.strip() for c in r)]
    if not numbered:
        raise file_error(
            shown,
            f"{_NO_CONTENT[0]}(只有分隔符或空白)",
            f"{_NO_CONTENT[1]} (only delimiters or blanks)",
        )
    (_, header), body = numbered[0], numbered[1:]
    check_header(header, shown)
    issues = [
        Issue(
            f"有 {len(row)} 列,表头有 {len(header)} 列",
            f"has {len(row)} columns, the header has {len(header)}",
            row=number,
        )
        for number, row in body
        if len(row) != len(header)
    ]
    if issues:
        raise ImportRejected(shown, issues)
    names = [h.strip() for h in header]
    frame = pd.DataFrame([r for _, r in body], columns=names, dtype=object)
    _raise_nuls(frame, [n for n, _ in body], shown)
    frame = frame.map(lambda v: unneutralise_formula(v.strip()) if isinstance(v, str) else v)
    frame.index = [n - 2 for n, _ in body]  # the file's own row numbers, blank lines counted
    return SourceTable(shown, "csv", frame, None, None, 2, encoding)


# --- XLSX ----------------------------------------------------------------------------------------


def _check_workbook(path: Path, shown: str) -> None:
    """The container check and the references check of an XLSX, before openpyxl opens it."""
    with path.open("rb") as fh:
        head = fh.read(8)
    if head == OLE_MAGIC:
        raise file_error(
            shown,
            "不是有效的 XLSX 文件:这是设有密码(已加密)的工作簿,或改了扩展名的旧版 .xls;请在 "
            "Excel 中取消密码,另存为 .xlsx",
            "not a valid XLSX workbook: it is password-protected (encrypted) or an .xls "
            "renamed; remove the password in Excel and save it as .xlsx",
        )
    if not zipfile.is_zipfile(path):
        raise file_error(
            shown,
            "不是有效的 XLSX 文件(已损坏,或是改了扩展名的 .xls/CSV)",
            "not a valid XLSX workbook (damaged, or an .xls/CSV renamed)",
        )
    with checked_archive(path, shown, "xlsx") as (archive, members):
        problem = xlsx_reference(
            members, lambda m, size: read_member(archive, m, shown, "xlsx", size)
        )
    if problem is not None:
        raise ImportRejected(shown, [problem])


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _formula_text(value: Any) -> str:
    return str(getattr(value, "text", None) or value)[:40]


def read_xlsx(path: Path, shown: str) -> SourceTable:
    """Read the first sheet of an XLSX workbook: see the module's docstring."""
    from openpyxl import load_workbook

    _check_workbook(path, shown)
    try:
        book = load_workbook(path, read_only=True, data_only=False, keep_links=False)
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        raise file_error(
            shown, "XLSX 文件已损坏,无法打开", f"the XLSX workbook is damaged: {exc}"
        ) from exc
    try:
        sheet = book.worksheets[0]
        if hasattr(sheet, "reset_dimensions"):
            sheet.reset_dimensions()  # never trust <dimension ref=…>: read every row there is
        rows = list(enumerate(sheet.iter_rows(), start=1))
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise damaged(shown, "xlsx", exc) from exc
    except Exception as exc:  # XML errors of a damaged sheet
        raise file_error(
            shown, "XLSX 文件已损坏,无法读取工作表", f"the XLSX worksheet is damaged: {exc}"
        ) from exc
    finally:
        book.close()
    rows = [(n, r) for n, r in rows if any(not _blank(c.value) for c in r)]
    if not rows:
        raise file_error(
            shown,
            f"{_NO_CONTENT[0]}:工作表是空的(或只有空白)",
            f"{_NO_CONTENT[1]}: the worksheet is empty (or only blanks)",
        )
    header = [c.value for c in rows[0][1]]
    while header and _blank(header[-1]):
        header.pop()
    check_header(header, shown)
    names = [str(h).strip() for h in header]
    if any("\x00" in n for n in names):
        raise ImportRejected(
            shown, [nul_issue(1, n.replace("\x00", "\\0")) for n in names if "\x00" in n]
        )
    issues: list[Issue] = []
    records = []
    for number, row in rows[1:]:
        values = []
        for col, cell in enumerate(row[: len(names)]):
            value = cell.value
            if cell.data_type == "f" or (isinstance(value, str) and value.startswith("=")):
                issues.append(
                    Issue(
                        f"单元格是公式({_formula_text(value)}),只接受数值或文字;请“选择性粘贴"
                        " → 数值”后另存",
                        f"the cell is a formula ({_formula_text(value)}); only values are "
                        "accepted: paste the values over it and save again",
                        row=number,
                        field=names[col],
                    )
                )
            values.append(unneutralise_formula(value))
        values += [None] * (len(names) - len(values))
        records.append(values)
    frame = pd.DataFrame(records, columns=names, dtype=object)
    numbers = [n for n, _ in rows[1:]]
    _raise_nuls(frame, numbers, shown)
    source = SourceTable(shown, "xlsx", frame, None, None, 2, "XLSX")
    source.issues = issues
    source.frame.index = [n - 2 for n in numbers]  # the worksheet's own row numbers
    return source
