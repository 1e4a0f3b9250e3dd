"""Tables as CSV and XLSX bytes, with cells neutralised against formula injection.

Text a spreadsheet would run as a formula (``= + - @`` or a tab/CR at the start) gets a leading
apostrophe on the way out (:func:`neutralise_formula`); import strips it again
(:func:`unneutralise_formula`).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import pandas as pd

#: Leading characters a spreadsheet (Excel, WPS) runs as a formula, with their full-width forms
#: (＝ ＋ － ＠), which WPS also takes as formulas.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise_formula(value: Any) -> Any:
    """Text a spreadsheet would run as a formula, made inert with a leading apostrophe.

    Numbers and other values pass through. :func:`unneutralise_formula` undoes it on import.

    Examples
    --------
    >>> neutralise_formula('=HYPERLINK("http://x","点我")')
    '\\'=HYPERLINK("http://x","点我")'
    >>> neutralise_formula(-3), neutralise_formula("3栋")
    (-3, '3栋')
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def unneutralise_formula(value: Any) -> Any:
    """Undo :func:`neutralise_formula`: ``'=…`` read from a spreadsheet becomes ``=…``."""
    if isinstance(value, str) and value[:1] == "'" and value[1:].startswith(FORMULA_PREFIXES):
        return value[1:]
    return value


def _neutralise_frame(table_: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(table_).copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise_formula)
    out.columns = [neutralise_formula(str(c)) for c in out.columns]
    return out


def table_to_csv(table: pd.DataFrame) -> bytes:
    """A table as CSV bytes, UTF-8 with BOM, without the index; formulas neutralised."""
    return _neutralise_frame(table).to_csv(index=False).encode("utf-8-sig")


def table_to_xlsx(table: pd.DataFrame, sheet_name: str = "Sheet1") -> bytes:
    """A table as the bytes of an XLSX workbook with one sheet (openpyxl); formulas
    neutralised, so every text cell is stored as text."""
    return tables_to_xlsx({sheet_name: table})


def tables_to_xlsx(tables: Mapping[str, pd.DataFrame]) -> bytes:
    """Several tables as the sheets of one XLSX workbook (sheet names cut to 31 characters)."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for sheet_name, frame in tables.items():
            _neutralise_frame(frame).to_excel(writer, index=False, sheet_name=sheet_name[:31])
    return buffer.getvalue()
