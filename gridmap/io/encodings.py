"""Text of the files users hold: its encoding detected, or the file refused with a sentence.

gridmap reads UTF-8 (with or without a BOM), UTF-16 with a BOM, and GBK/GB18030 — what Excel,
WPS and Chinese GIS software write. Almost any bytes decode as GB18030, so a file that is not
UTF-8 is taken as GB18030 only when the result is plausible Chinese text
(:func:`implausible_chars`): Big5 (Taiwan, Hong Kong) or Shift-JIS (Japan) bytes decoded as
GB18030 give kana, box drawing, private-use and rare characters instead, and such a file is
refused, asking for UTF-8, rather than stored as mojibake. The same applies to a shapefile's
attributes when neither a ``.cpg`` nor the ``.dbf`` says their encoding
(:func:`dbf_encoding`).

Text holding NUL bytes is refused too, naming the row and the field (:func:`nul_issues`,
:func:`dbf_nul_issues`): GDAL and most programs cut a name at its first NUL, so such a value
would be stored cut short.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import pandas as pd

from gridmap.i18n import pair
from gridmap.io.layers import ImportRejected, Issue, file_error

#: Below this share of NUL bytes in a file's first 4 KB, the NULs are stray characters in text
#: (refused with their row and field); above it the file is binary.
NUL_SHARE_BINARY = 0.01

#: A GB18030 reading is refused as mojibake when at least this many of its non-ASCII
#: characters, and this share of them, are implausible (:func:`implausible_chars`).
IMPLAUSIBLE_MIN, IMPLAUSIBLE_SHARE = 2, 0.3

_ADVICE = pair("请用 Excel/WPS 或记事本“另存为”UTF-8 编码后再导入")


def sniff_binary(head: bytes) -> bool:
    """True for bytes that are not text: many NUL bytes, or a line neither UTF-8 nor GB18030.

    A few NUL bytes in otherwise decodable text are not binary: they are refused later with
    their row and field (:func:`nul_issues`).
    """
    if head.count(b"\x00") > max(1, len(head) * NUL_SHARE_BINARY):
        return True
    lines = head.replace(b"\x00", b"").splitlines()
    if len(head) >= 4096 and lines:
        lines = lines[:-1]  # the sample may cut the last line inside a character
    for line in lines:
        for encoding in ("utf-8", "gb18030"):
            try:
                line.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            return True
    return False


def implausible_chars(text: str) -> tuple[int, int]:
    """How many of the non-ASCII characters of a GB18030 reading are implausible, of how many.

    Plausible are the characters of GB 2312 — its 6,763 common hanzi, and its punctuation and
    full-width forms. Implausible are kana, Greek, Cyrillic, box drawing and pinyin (what Big5
    lead bytes A4–A9 become), characters outside GB 2312 (GBK's rare extensions, where most
    Shift-JIS and a third of Big5 land) and private-use ones. Real GBK text has a few rare
    characters (喆, 堃 in names); mojibake has mostly rare ones.

    Examples
    --------
    >>> implausible_chars("陈大文,在册")
    (0, 5)
    >>> implausible_chars("陳大文".encode("big5").decode("gb18030"))[0] >= 2
    True
    """
    counts = Counter(ch for ch in text if ord(ch) > 127)
    bad = 0
    for ch, n in counts.items():
        try:
            code = ch.encode("gb2312")
        except UnicodeEncodeError:
            bad += n
            continue
        if not (0xA1 <= code[0] <= 0xA3 or 0xB0 <= code[0] <= 0xF7):
            bad += n
    return bad, sum(counts.values())


def mojibake(text: str) -> bool:
    """True when a GB18030 reading is implausible as Chinese text (:func:`implausible_chars`)."""
    bad, total = implausible_chars(text)
    return bad >= IMPLAUSIBLE_MIN and bad >= IMPLAUSIBLE_SHARE * total


def not_gbk(shown: str, what: str = "文件") -> ImportRejected:
    """The refusal of text that is neither UTF-8 nor plausible GBK (Big5, Shift-JIS …)."""
    return file_error(
        shown,
        f"{what}的编码既不是 UTF-8 也不是 GBK/GB18030(可能是繁体 Big5 或日文 Shift-JIS),"
        f"按 GBK 读出的是乱码;{_ADVICE[0]}",
        "the text is neither UTF-8 nor GBK/GB18030 (Big5 or Shift-JIS?): read as GBK it is "
        f"mojibake; {_ADVICE[1]}",
    )


def strict_decode(raw: bytes, encoding: str, shown: str) -> str:
    """``raw`` decoded, or a refusal naming the row (line) where decoding fails."""
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        row = raw[: exc.start].count(b"\n") + 1
        raise ImportRejected(
            shown,
            [
                Issue(
                    f"无法按 {encoding} 解码;{_ADVICE[0]}",
                    f"cannot be decoded as {encoding}; {_ADVICE[1]}",
                    row=row,
                )
            ],
        ) from exc


def decode_text(raw: bytes, shown: str, what: str = "CSV") -> tuple[str, str]:
    """The text of a text file and the encoding it was read with.

    BOM-marked UTF-8/16, else UTF-8, else GB18030 when plausible (:func:`mojibake`); a file
    mixing UTF-8 and GBK lines is refused, naming the first row of each; binary data, a file in
    another encoding, or undecodable bytes are refused with a sentence naming the file.
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        return strict_decode(raw[3:], "utf-8", shown), "UTF-8 (BOM)"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return strict_decode(raw, "utf-16", shown), "UTF-16"
    if sniff_binary(raw[:4096]):
        raise file_error(
            shown,
            f"文件内容是二进制数据,不是 {what} 文本",
            f"the file holds binary data, not {what} text",
        )
    try:
        return raw.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    utf8_row = other_row = None
    for number, line in enumerate(raw.splitlines(), start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8_row = utf8_row or number
        except UnicodeDecodeError:
            other_row = other_row or number
    if utf8_row is not None and other_row is not None:
        raise ImportRejected(
            shown,
            [
                Issue(
                    f"文件混用了两种编码:第 {utf8_row} 行是 UTF-8,第 {other_row} 行不是"
                    "(多半是 GBK);请用同一种编码另存",
                    f"the file mixes encodings: row {utf8_row} is UTF-8 but row {other_row} is "
                    "not (GBK?); save it again in one encoding",
                    row=other_row,
                )
            ],
        )
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise not_gbk(shown) from exc
    if mojibake(text):
        raise not_gbk(shown)
    return text, "GB18030"


def nul_issue(row: int | None, field: str | None) -> Issue:
    """The problem of a value holding a NUL character, at ``row`` (as users count) and
    ``field``."""
    return Issue(
        "文字中含有 NUL 字符(\\0),会截断名称;请删除该字符后另存",
        "the text holds a NUL character (\\0), which would cut it short; remove it and save again",
        row=row,
        field=field,
    )


def nul_issues(frame: pd.DataFrame, rows: Iterable[int]) -> list[Issue]:
    """A problem for each cell (and header) of ``frame`` holding a NUL character.

    ``rows`` gives each record's number as users count it (spreadsheet row, feature).
    """
    numbers = list(rows)
    issues = [
        nul_issue(1, str(c).replace("\x00", "\\0")) for c in frame.columns if "\x00" in str(c)
    ]
    hits = []
    for position, column in enumerate(frame.columns):
        values = frame.iloc[:, position]
        mask = values.map(lambda v: isinstance(v, str) and "\x00" in v).to_numpy(dtype=bool)
        hits += [(i, str(column).replace("\x00", "\\0")) for i in mask.nonzero()[0]]
    for i, column in sorted(hits):
        issues.append(nul_issue(numbers[i], column))
    return issues


def has_nul(values: Iterable[Any]) -> bool:
    """True when any text value holds a NUL character (a quick test before :func:`nul_issues`)."""
    return any(isinstance(v, str) and "\x00" in v for v in values)


# --- dBASE (.dbf) attributes of a shapefile -----------------------------------------------------


def _dbf_layout(data: bytes) -> tuple[int, int, int, list[tuple[bytes, str, int, int]]]:
    """Record count, header length, record length and (name, type, offset, length) of each
    field of a .dbf; ``(0, 0, 0, [])`` for bytes too short to hold a header."""
    if len(data) < 33:
        return 0, 0, 0, []
    count = int.from_bytes(data[4:8], "little")
    header = int.from_bytes(data[8:10], "little")
    length = int.from_bytes(data[10:12], "little")
    fields, offset, pos = [], 1, 32  # each record starts with its deletion flag
    while pos + 32 <= min(header, len(data)) and data[pos] != 0x0D:
        raw = data[pos : pos + 32]
        size = raw[16] + (raw[17] << 8 if chr(raw[11]) == "C" else 0)  # long text fields
        fields.append((raw[:11].split(b"\x00")[0], chr(raw[11]), offset, size))
        offset += size
        pos += 32
    return count, header, length, fields


def dbf_records(data: bytes) -> bytes:
    """The record bytes of a .dbf (everything after its header)."""
    _, header, _, _ = _dbf_layout(data)
    return data[header:] if header else b""


def dbf_encoding(data: bytes, shown: str) -> str:
    """The encoding of a .dbf's text when nothing declares it: UTF-8 if its records decode as
    UTF-8, else GB18030 when plausible; a refusal naming the file otherwise."""
    records = dbf_records(data)
    try:
        records.decode("utf-8")
        return "UTF-8"
    except UnicodeDecodeError:
        pass
    text = records.decode("gb18030", errors="replace")
    if mojibake(text):
        raise file_error(
            shown,
            "Shapefile 属性表的编码既不是 UTF-8 也不是 GBK(可能是 Big5 或 Shift-JIS),又没有"
            "写明编码的 .cpg 文件;请附上 .cpg(内容为编码名称,如 BIG5),或另存为 UTF-8",
            "the shapefile's attributes are neither UTF-8 nor GBK (Big5 or Shift-JIS?) and no "
            ".cpg names their encoding; add a .cpg holding the encoding's name (e.g. BIG5), or "
            "save it as UTF-8",
        )
    return "GB18030"


def dbf_nul_issues(data: bytes, encoding: str = "utf-8") -> list[Issue]:
    """A problem for each text cell of a .dbf holding a NUL byte inside its value (NUL
    padding after the value, as some programs write, is fine); rows count features from 1."""
    count, header, length, fields = _dbf_layout(data)
    text_fields = [f for f in fields if f[1] == "C" and f[3] > 0]
    if not text_fields or length <= 0 or b"\x00" not in data[header:]:
        return []
    issues = []
    for number in range(1, count + 1):
        start = header + (number - 1) * length
        record = data[start : start + length]
        if len(record) < length or record[:1] == b"*" or b"\x00" not in record:
            continue  # short (damaged: GDAL says so), deleted, or clean
        for name, _, offset, size in text_fields:
            value = record[offset : offset + size].rstrip(b" \x00")
            if b"\x00" in value:
                issues.append(nul_issue(number, name.decode(encoding, errors="replace")))
    return issues
