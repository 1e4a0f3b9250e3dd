"""Every string gridmap shows is a message of the one catalogue, and has its English.

An AST scan of the app, its pages and the core: a Chinese string constant must be the message
of ``t(...)`` (pages) or ``text(...)``/``pair(...)`` (:mod:`gridmap.i18n`), a counting word of
:data:`gridmap.labels.UNITS`, one message that carries both languages (``中文 / English``,
the CLI's), or text that is not shown (docstrings, the names a file's columns may carry, the
demo's generated names). Every message has its English in ``gridmap/locale/en.po``, the English
holds no Chinese, and every call passes every field either language places. A Chinese string
that slips through, such as a unit pasted after a figure ("12 个" on an English page), fails
with its file and line.
"""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from gridmap.i18n import CATALOGUE_PATH, english, pair, read_po, text
from gridmap.labels import UNITS, unit
from scripts.catalogue import (
    extract,
    message_calls,
    message_names,
    problems,
    read_entries,
    sources,
)

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sources(ROOT)
#: English that quotes Chinese on purpose: the names and columns a file must carry.
QUOTES_CHINESE = ("Upload one or more files. Layers are recognised by name", "Columns: 姓名")
CJK = re.compile(r"[\u4e00-\u9fff]")
#: Chinese shown in both languages on purpose: the name of the language in its own words, and
#: the base map provider's attribution in its own name.
SHOWN_AS_IS = {"中文", "© 天地图 Tianditu"}
#: Classes whose text exists for Chinese only: they translate a library's own English.
CHINESE_ONLY_CLASSES = {"DrawWordsZh"}
#: Chinese that is read, not shown: the column names and aliases an import recognises, the
#: demo's generated names and addresses, words matched in users' text. Each entry names the
#: file and the module-level names (or functions) that hold such text.
NOT_SHOWN: dict[str, set[str]] = {
    "gridmap/settings.py": {"*"},
    "gridmap/io/layers.py": {"FIELDS", "ALIASES", "LAYER_NAMES", "_layer_names"},
    "gridmap/organisation/bulk.py": {"COLUMNS", "MEMBER_COLUMNS", "*"},
    "gridmap/demo": {"*"},
    "gridmap/citygen.py": {"*"},
    "gridmap/blindspots.py": {"compound_names"},
    "gridmap/auth/masking.py": {"NAME_COLUMNS", "PHONE_COLUMNS", "ID_COLUMNS", "TEXT_COLUMNS"},
}


#: Modules whose Chinese is not yet all in the catalogue, and why. Most are messages that carry
#: both languages in one sentence (``中文 / English``) with Chinese pieces composed inside, or
#: Chinese-only text (a PDF report, problem details, CLI summaries). Each one leaves this list
#: when it is converted; the last test fails when a listed module no longer needs to be here.
PENDING: dict[str, str] = {
    "gridmap/validation.py": "row errors: pieces of 中文 / English sentences",
    "gridmap/requests/workflow.py": "event notes and field names inside 中文 / English errors",
    "gridmap/requests/hotline.py": "12345 import errors and notes",
    "gridmap/requests/open311.py": "Open311 export text (Chinese data)",
    "gridmap/requests/suggestions.py": "member suggestions' reasons",
    "gridmap/requests/placing.py": "address patterns (read, not shown)",
    "gridmap/requests/states.py": "a piece of a 中文 / English error",
    "gridmap/organisation/tree.py": "field names inside 中文 / English errors",
    "gridmap/organisation/people.py": "field names inside 中文 / English errors",
    "gridmap/organisation/members.py": "field names inside 中文 / English errors",
    "gridmap/organisation/points.py": "field names inside 中文 / English errors",
    "gridmap/organisation/checks.py": "field names inside 中文 / English errors",
    "gridmap/organisation/street.py": "the part-time mark after a worker's name",
    "gridmap/redraw/lifecycle.py": "names and notes of new plans (stored data)",
    "gridmap/redraw/draft.py": "names of new grids (stored data)",
    "gridmap/redraw/geometry.py": "a piece of a 中文 / English error",
    "gridmap/redraw/permissions.py": "an actor's name when the user has none",
    "gridmap/redraw/balance.py": "a progress message",
    "gridmap/planning/siting.py": "candidate site labels",
    "gridmap/planning/ranking.py": "hexagon labels",
    "gridmap/crs.py": "CRS names (中文 English) and words matched in a CRS name",
    "gridmap/bootstrap.py": "a piece of a 中文 / English error",
    **{
        f"gridmap/io/{name}.py": "import messages and the column names a file may carry"
        for name in (
            "layers", "streets", "imports", "placing", "vectors", "parsing", "tables",
            "sources", "offline", "encodings", "osm", "containers", "backups", "derive",
        )
    },
    **{
        f"gridmap/cli/{name}.py": "command-line summaries (Chinese first)"
        for name in ("plan", "analyses", "street", "requests", "org", "files", "setup", "coverage")
    },
}  # fmt: skip


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _not_shown(path: Path, owner: str) -> bool:
    rel = str(path.relative_to(ROOT))
    for where, owners in NOT_SHOWN.items():
        if rel == where or rel.startswith(where + "/"):
            return "*" in owners or owner in owners
    return False


def _bilingual(value: str) -> bool:
    """One message in both languages, ``中文 / English`` (CLI output, errors)."""
    return bool(CJK.search(value)) and bool(re.search(r"/ .*[A-Za-z]{3}", value))


def scan(path: Path) -> list[str]:
    """The Chinese strings of one file that are not catalogue messages, ``file:line: text``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    covered: set[int] = set()

    def cover(node: ast.AST) -> None:
        covered.update(id(sub) for sub in ast.walk(node))

    for call, _, _ in message_calls(tree, _module(path)):
        cover(call.args[0])
        for extra in [*call.args[1:2], *(k.value for k in call.keywords if k.arg == "context")]:
            cover(extra)
    owners: dict[int, str] = {}
    for top in tree.body:
        names = [
            target.id
            for target in getattr(top, "targets", [getattr(top, "target", None)])
            if isinstance(target, ast.Name)
        ] or [getattr(top, "name", "")]
        for sub in ast.walk(top):
            owners[id(sub)] = names[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            cover(node)  # a docstring or a string used as a comment
        elif (isinstance(node, ast.ClassDef) and node.name in CHINESE_ONLY_CLASSES) or (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in {"unit", "labels_unit"}
        ):
            cover(node)
    joined: dict[int, str] = {}  # a piece of an f-string → the whole f-string
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            whole = ast.unparse(node)
            for sub in ast.walk(node):
                if sub is not node:
                    joined.setdefault(id(sub), whole)
    return [
        f"{path.relative_to(ROOT)}:{node.lineno}: {node.value[:60]!r}"
        for node in ast.walk(tree)
        if id(node) not in covered
        and isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and CJK.search(node.value)
        and (node.value not in UNITS or id(node) in joined)  # a unit pasted after a figure
        and node.value not in SHOWN_AS_IS
        and not _bilingual(joined.get(id(node), node.value))
        and not _not_shown(path, owners.get(id(node), ""))
    ]


CHECKED = [p for p in SOURCES if str(p.relative_to(ROOT)) not in PENDING]


@pytest.mark.parametrize("path", CHECKED, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_chinese_string_is_a_catalogue_message(path: Path) -> None:
    missing = scan(path)
    assert not missing, "Chinese shown outside the catalogue:\n" + "\n".join(missing)


def test_every_message_has_its_english_and_the_catalogue_nothing_stale() -> None:
    found = extract(SOURCES, ROOT)
    assert len(found) > 800, "the scan no longer sees the pages"
    untranslated, stale = problems(found, read_entries(CATALOGUE_PATH))
    shown = [f"{where[0]}: {message!r}" for (_, message), where in untranslated]
    assert not shown, "no English (run scripts/catalogue.py, fill in msgstr):\n" + "\n".join(shown)
    assert not stale, f"in the catalogue, used nowhere (run scripts/catalogue.py): {stale}"


def test_the_english_holds_no_chinese() -> None:
    chinese = [
        f"{message!r} → {shown!r}"
        for message, shown in read_po(CATALOGUE_PATH).items()
        if CJK.search(shown) and not shown.startswith(QUOTES_CHINESE)
    ]
    assert not chinese, "English with Chinese in it:\n" + "\n".join(chinese)


def _fields(template: str) -> set[str]:
    return {
        name.split(".")[0].split("[")[0]
        for _, name, _, _ in string.Formatter().parse(template)
        if name is not None
    }


def test_every_call_passes_the_fields_both_languages_place() -> None:
    catalogue = read_po(CATALOGUE_PATH)
    wrong = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for call, message, context in message_calls(tree, _module(path)):
            passed = {k.arg for k in call.keywords} - {"context"}
            if any(k.arg is None for k in call.keywords):
                continue  # **fields: checked where they are built
            key = message if context is None else f"{context}\x04{message}"
            shown = catalogue.get(key, message)
            placed = _fields(message) | _fields(shown) if passed else set()
            if placed - passed:
                wrong.append(f"{path.relative_to(ROOT)}:{call.lineno}: {sorted(placed - passed)}")
            if call.func.id == "t" and len(call.args) > 1:
                wrong.append(f"{path.relative_to(ROOT)}:{call.lineno}: t() takes one message")
    assert not wrong, "fields a language places that the call does not pass:\n" + "\n".join(wrong)


def test_every_message_is_written_out_where_it_is_used() -> None:
    """A message passed in a variable escapes the catalogue: its English would be missing."""
    variable = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = message_names(tree, _module(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in names
                and not (node.args and isinstance(node.args[0], ast.Constant))
                and path.name != "ui_common.py"  # t() hands its message to text()
            ):
                variable.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert not variable, "messages not written out:\n" + "\n".join(variable)


def test_no_module_rebinds_a_message_function() -> None:
    """A variable named like the message function it shadows (``text = …``) turns every later
    call in its scope into a crash that shows only when that line runs."""
    shadowed = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = message_names(tree, _module(path))
        for node in ast.walk(tree):
            bound = (
                node.id
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
                else node.arg
                if isinstance(node, ast.arg)
                else None
            )
            if bound in names:
                shadowed.append(f"{path.relative_to(ROOT)}:{node.lineno}: {bound}")
    assert not shadowed, "message functions rebound:\n" + "\n".join(shadowed)


def test_a_message_reads_in_both_languages_with_its_figures() -> None:
    assert text("网格") == "网格"
    assert text("网格", "en", context="views.hotspots: area unit") == "Grids"
    assert pair("已受理") == ("已受理", "Received")
    # the same Chinese reads differently by context
    assert english("党员领单", "action") == "Dispatch to member"
    assert english("党员领单", "assignee") == "Party member"
    assert english("从未有过的文字") == "从未有过的文字"
    message = next(m for m in read_po(CATALOGUE_PATH) if _fields(m) == {"n"} and "\x04" not in m)
    assert "{n}" not in text(message, "en", n=7) and "7" in text(message, "en", n=7)


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


def test_the_scan_catches_chinese_outside_the_catalogue(tmp_path: Path) -> None:
    global ROOT
    views = tmp_path / "views"
    views.mkdir()
    page = views / "page.py"
    page.write_text(
        "from ui_common import t\n"
        'n = 3\nshown = f"{n} 个"\nlabel = t("网格")\nbad = "网格" if n else "Grids"\n',
        encoding="utf-8",
    )
    saved, ROOT = ROOT, tmp_path
    try:
        missing = scan(page)
        found = extract([page], tmp_path)
    finally:
        ROOT = saved
    assert missing == ["views/page.py:3: ' 个'", "views/page.py:5: '网格'"]
    assert found == {(None, "网格"): ["views/page.py:4"]}
    assert problems({(None, "新的文字"): ["x.py:1"]}, {})[0] == [((None, "新的文字"), ["x.py:1"])]


def test_the_pending_list_is_current() -> None:
    """Every module still listed has Chinese outside the catalogue; a converted one leaves."""
    done = [path for path in PENDING if (ROOT / path).exists() and not scan(ROOT / path)]
    gone = [path for path in PENDING if not (ROOT / path).exists()]
    assert not done, f"converted: take these off PENDING: {done}"
    assert not gone, f"no such module: {gone}"
    assert len(CHECKED) > 80, "the pages and most of the core are checked"
