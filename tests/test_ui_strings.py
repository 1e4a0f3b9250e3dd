"""Every string the app shows has both languages.

An AST scan of the UI (``app.py``, ``ui_common.py``, ``views/``) and of the map builders
(``gridmap/maps/``): a Chinese string constant must be the Chinese half of a pair (``t(zh, en)``,
``zh_text if zh else en_text``, a ``(zh, en, …)`` tuple, a ``{"zh": …, "en": …}`` dict), a
counting word of :data:`gridmap.labels.UNITS`, or one message that carries both languages
(``中文 / English``). The English half of a pair holds no Chinese. A Chinese string that slips
through, such as a unit pasted after a figure ("12 个" on an English page), fails with its file
and line.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from gridmap.labels import UNITS, unit

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(
    [
        ROOT / "app.py",
        ROOT / "ui_common.py",
        *(ROOT / "views").glob("*.py"),
        *(ROOT / "gridmap" / "maps").glob("*.py"),
    ]
)
#: English that quotes Chinese on purpose: the names and columns a file must carry.
QUOTES_CHINESE = ("Upload one or more files. Layers are recognised by name", "Columns: 姓名")
CJK = re.compile(r"[\u4e00-\u9fff]")
#: Chinese shown in both languages on purpose: the name of the language in its own words, and
#: the base map provider's attribution in its own name.
SHOWN_AS_IS = {"中文", "© 天地图 Tianditu"}
#: Classes whose text exists for Chinese only: they translate a library's own English.
CHINESE_ONLY_CLASSES = {"DrawWordsZh"}


def _chinese(node: ast.AST) -> bool:
    return any(
        isinstance(sub, ast.Constant) and isinstance(sub.value, str) and CJK.search(sub.value)
        for sub in ast.walk(node)
    )


def _english(node: ast.AST) -> bool:
    """A string (or f-string) with Latin letters and no Chinese."""
    if not isinstance(node, (ast.Constant, ast.JoinedStr)):
        return False
    text = ast.unparse(node)
    return bool(re.search(r"[A-Za-z]", text)) and not CJK.search(text)


def _bilingual(text: str) -> bool:
    """One message in both languages, ``中文 / English``."""
    return bool(CJK.search(text)) and bool(re.search(r"/ .*[A-Za-z]{3}", text))


def _language_test(node: ast.AST) -> bool:
    return bool(re.search(r"\bzh\b|\blang\b", ast.unparse(node)))


def scan(path: Path) -> tuple[list[str], list[str]]:
    """(Chinese strings without English, English halves that hold Chinese) of one file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    covered: set[int] = set()
    english_halves: list[ast.AST] = []

    def cover(node: ast.AST) -> None:
        covered.update(id(sub) for sub in ast.walk(node))

    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            cover(node)  # a docstring or a string used as a comment
        elif isinstance(node, ast.ClassDef) and node.name in CHINESE_ONLY_CLASSES:
            cover(node)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "t" and len(node.args) == 2:
                cover(node)
                english_halves.append(node.args[1])
            elif node.func.id in {"unit", "labels_unit"} and node.args:
                cover(node)
        elif isinstance(node, ast.IfExp) and _language_test(node.test):
            cover(node)
            negated = isinstance(node.test, ast.UnaryOp) and isinstance(node.test.op, ast.Not)
            english_halves.append(node.body if negated else node.orelse)
        elif isinstance(node, (ast.Tuple, ast.List)) and 2 <= len(node.elts) <= 4:
            first, rest = node.elts[0], node.elts[1:]
            if any(_english(e) for e in node.elts) or (
                _chinese(first) and not any(_chinese(e) for e in rest)
            ):  # (zh, en, …), also (f"{zh}(名)", en_label)
                cover(node)
        elif isinstance(node, ast.Dict):
            keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
            if {"zh", "en"} <= keys:
                cover(node)
                english_halves.extend(
                    v for k, v in zip(node.keys, node.values, strict=True)
                    if isinstance(k, ast.Constant) and k.value == "en"
                )  # fmt: skip
    # a counting word alone (a table of units) is in the catalogue; pasted into an f-string, not
    pieces = {
        id(sub): ast.unparse(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.JoinedStr)
        for sub in node.values
    }
    missing = [
        f"{path.relative_to(ROOT)}:{node.lineno}: {node.value[:60]!r}"
        for node in ast.walk(tree)
        if id(node) not in covered
        and isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and CJK.search(node.value)
        and (node.value not in UNITS or id(node) in pieces)
        and node.value not in SHOWN_AS_IS
        and not _bilingual(pieces.get(id(node), node.value))
    ]
    chinese_in_english = [
        f"{path.relative_to(ROOT)}:{half.lineno}: {ast.unparse(half)[:60]}"
        for half in english_halves
        if _chinese(half)
        and not _bilingual(ast.unparse(half))
        and not ast.unparse(half).lstrip("f'\"").startswith(QUOTES_CHINESE)
    ]
    return missing, chinese_in_english


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_chinese_string_has_its_english(path: Path) -> None:
    missing, _ = scan(path)
    assert not missing, "Chinese shown without English:\n" + "\n".join(missing)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_english_half_holds_no_chinese(path: Path) -> None:
    _, chinese = scan(path)
    assert not chinese, "English text with Chinese in it:\n" + "\n".join(chinese)


def test_every_unit_the_pages_use_has_its_english() -> None:
    used = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "unit"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                used.add(node.args[0].value)
    assert used, "the scan found no unit() call: it no longer sees the pages"
    assert used <= set(UNITS), f"units without English: {sorted(used - set(UNITS))}"
    assert {unit(u, "en") for u in used}.isdisjoint({f" {u}" for u in used})


def test_a_count_reads_bare_in_english_and_with_its_word_in_chinese() -> None:
    assert unit("个", "zh") == " 个"
    assert unit("个", "en") == ""
    assert unit("户", "en") == " households"
    assert unit("名/百户", "en") == " per 100 households"
    with pytest.raises(KeyError):
        unit("打", "en")


def test_the_scan_catches_a_unit_pasted_after_a_figure(tmp_path: Path) -> None:
    page = tmp_path / "page.py"
    page.write_text(
        'n = 3\nshown = f"{n} 个"\nlabel = t("网格", "Grids")\nbad = t("网格", "网格 grids")\n',
        encoding="utf-8",
    )
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        missing, chinese = scan(page)
    finally:
        ROOT = saved
    assert missing == ["page.py:2: ' 个'"]
    assert chinese == ["page.py:4: '网格 grids'"]
