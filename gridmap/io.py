"""Files in and out: tables as CSV and XLSX bytes for downloads and exports.

CSV is UTF-8 with a byte-order mark so Excel (which assumes GBK on Chinese Windows without it)
opens the Chinese text correctly.
"""

from __future__ import annotations

import io

import pandas as pd


def table_to_csv(table: pd.DataFrame) -> bytes:
    """A table as CSV bytes, UTF-8 with BOM, without the index."""
    return table.to_csv(index=False).encode("utf-8-sig")


def table_to_xlsx(table: pd.DataFrame, sheet_name: str = "Sheet1") -> bytes:
    """A table as the bytes of an XLSX workbook with one sheet (openpyxl)."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        table.to_excel(writer, index=False, sheet_name=sheet_name[:31])
    return buffer.getvalue()
