"""The catalogue of UI strings: Chinese in the code, its English in ``gridmap/locale/en.po``.

Every string gridmap shows is written once, in Chinese, where it is used (the gettext way:
the Chinese text is the message id). Its English lives in one catalogue, a standard gettext
``.po`` file a translator can open in Poedit or Weblate. A message with figures names them
(``"共 {n} 个网格"``) and gets them as keywords, so the English may place them differently
(``"{n} grids in all"``). The same Chinese that reads differently in English in two places
carries a context (gettext's ``msgctxt``), such as ``"网格员"`` as a role and as a handler.

``scripts/catalogue.py`` adds new messages to the catalogue and lists stale ones;
``tests/test_ui_strings.py`` fails on a message without its English.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path
from typing import Literal

Language = Literal["zh", "en"]
#: Both languages, Chinese first: the order of a ``(中文, English)`` pair.
LANGS: tuple[Language, Language] = ("zh", "en")

#: The English catalogue.
CATALOGUE_PATH = Path(__file__).with_name("locale") / "en.po"

_SEPARATOR = "\x04"  # gettext's separator of context and message id


def _key(message: str, context: str | None) -> str:
    return message if context is None else f"{context}{_SEPARATOR}{message}"


def po_entries(path: Path) -> dict[tuple[str | None, str], str]:
    """Every entry of a ``.po`` file, translated or not: ``{(context, msgid): msgstr}``
    (context None where the entry has no ``msgctxt``; an untranslated entry has ``""``).

    Raises
    ------
    ValueError
        A line that is not part of a ``.po`` entry, with the file and line.
    """
    entries: dict[tuple[str | None, str], str] = {}
    fields: dict[str, str] = {}
    current: str | None = None

    def flush() -> None:
        if fields.get("msgid"):
            entries[(fields.get("msgctxt"), fields["msgid"])] = fields.get("msgstr", "")
        fields.clear()

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            if not line and "msgstr" in fields:
                flush()
            continue
        match = re.fullmatch(r'(msgctxt|msgid|msgstr)\s+(".*")', line)
        if match:
            if match[1] in ("msgctxt", "msgid") and "msgstr" in fields:
                flush()
            current = match[1]
            fields[current] = ast.literal_eval(match[2])
        elif line.startswith('"') and current is not None:
            fields[current] += ast.literal_eval(line)
        else:
            raise ValueError(f"{path}:{number}: not a line of a .po file: {raw!r}")
    flush()
    return entries


def read_po(path: Path) -> dict[str, str]:
    """The translations of a ``.po`` file: ``{msgid: msgstr}``, keyed ``context\\x04msgid``
    where the entry has a ``msgctxt``. Entries without a translation are left out (see
    :func:`po_entries`)."""
    return {
        _key(message, context): english
        for (context, message), english in po_entries(path).items()
        if english
    }


@cache
def catalogue() -> dict[str, str]:
    """The English of every message (read once from :data:`CATALOGUE_PATH`)."""
    return read_po(CATALOGUE_PATH)


def english(message: str, context: str | None = None) -> str:
    """The English of ``message``; the message itself when the catalogue lacks it (the test
    of the catalogue keeps that from reaching a user)."""
    return catalogue().get(_key(message, context), message)


def text(
    message: str, lang: Language = "zh", /, *, context: str | None = None, **fields: object
) -> str:
    """``message`` in ``lang``, its ``{fields}`` filled in.

    Parameters
    ----------
    message
        The Chinese text, the message id of the catalogue.
    lang
        The language shown.
    context
        Tells apart two uses of the same Chinese that read differently in English.
    **fields
        The figures and names the message places (``str.format`` fields).
    """
    shown = message if lang == "zh" else english(message, context)
    return shown.format(**fields) if fields else shown


def pair(message: str, context: str | None = None) -> tuple[str, str]:
    """``(中文, English)`` of ``message``, for tables of names kept in both languages."""
    return message, english(message, context)


def language(zh: bool) -> Language:
    """The language code of a "Chinese?" switch."""
    return "zh" if zh else "en"
