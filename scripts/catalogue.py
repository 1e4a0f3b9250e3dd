"""Keep the English catalogue (``gridmap/locale/en.po``) in step with the code.

Finds every message the code shows — the Chinese first argument of ``t(...)`` (pages),
``text(...)`` and ``pair(...)`` (core, :mod:`gridmap.i18n`) with its ``context`` — and
rewrites the catalogue: new messages are added with an empty English for you to fill in,
messages no longer used are dropped, every entry lists where it is used.

    python scripts/catalogue.py          # update gridmap/locale/en.po
    python scripts/catalogue.py --check  # exit 1 on a message without English, or a stale one
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gridmap.i18n import CATALOGUE_PATH, po_entries  # noqa: E402

#: The functions whose first argument is a message id, by the module that defines them.
MESSAGE_FUNCTIONS = {"gridmap.i18n": {"text", "pair"}, "ui_common": {"t"}}

Key = tuple[str | None, str]  # (context, message)


def sources(root: Path = ROOT) -> list[Path]:
    """The files that show text: the app, its pages and the core."""
    return sorted(
        [
            root / "app.py",
            root / "ui_common.py",
            *(root / "views").glob("*.py"),
            *(p for p in (root / "gridmap").rglob("*.py") if "migrations" not in p.parts),
        ]
    )


def message_names(tree: ast.AST, module: str) -> set[str]:
    """The names that call a message function in a file (imported, or defined by it)."""
    names = set(MESSAGE_FUNCTIONS.get(module, ()))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in MESSAGE_FUNCTIONS:
            names.update(
                alias.asname or alias.name
                for alias in node.names
                if alias.name in MESSAGE_FUNCTIONS[node.module]
            )
    return names


def message_calls(tree: ast.AST, module: str = "") -> list[tuple[ast.Call, str, str | None]]:
    """Every call of ``t``/``text``/``pair`` in ``tree`` (the file of ``module``) with a
    constant message: (call, message, context)."""
    names = message_names(tree, module)
    found = []
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in names
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            continue
        context = None
        candidates = [k.value for k in node.keywords if k.arg == "context"]
        if node.func.id != "text" and len(node.args) > 1:  # pair(message, context)
            candidates.append(node.args[1])
        for value in candidates:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                context = value.value
        found.append((node, node.args[0].value, context))
    return found


def extract(paths: list[Path], root: Path = ROOT) -> dict[Key, list[str]]:
    """``{(context, message): ["file:line", …]}`` of every message in ``paths``."""
    found: dict[Key, list[str]] = defaultdict(list)
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        module = ".".join(path.relative_to(root).with_suffix("").parts)
        for call, message, context in message_calls(tree, module):
            found[(context, message)].append(f"{path.relative_to(root)}:{call.lineno}")
    return dict(found)


def read_entries(path: Path) -> dict[Key, str]:
    """Every entry of a ``.po`` file, translated or not: ``{(context, message): english}``."""
    return po_entries(path)


def _quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\t", "\\t") + '"'


HEADER = """\
# English of gridmap's user interface. The Chinese (msgid) is the text in the code;
# scripts/catalogue.py adds new messages and drops those no longer used.
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"
"Language: en\\n"
"Source-Language: zh_CN\\n"
"""


def render(found: dict[Key, list[str]], english: dict[Key, str]) -> str:
    """The catalogue text: one entry per message, in the order the files use them."""

    def order(item: tuple[Key, list[str]]) -> tuple[str, int]:
        path, line = item[1][0].rsplit(":", 1)
        return path, int(line)

    parts = [HEADER]
    for (context, message), where in sorted(found.items(), key=order):
        lines = ["#: " + " ".join(dict.fromkeys(where))]
        if context is not None:
            lines.append(f"msgctxt {_quote(context)}")
        lines += [
            f"msgid {_quote(message)}",
            f"msgstr {_quote(english.get((context, message), ''))}",
        ]
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def problems(found: dict[Key, list[str]], english: dict[Key, str]) -> tuple[list, list]:
    """(messages without English, catalogue entries no code uses)."""
    untranslated = [(key, found[key]) for key in found if not english.get(key)]
    stale = [key for key in english if key not in found]
    return untranslated, stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 on gaps")
    args = parser.parse_args(argv)
    found = extract(sources())
    english = read_entries(CATALOGUE_PATH) if CATALOGUE_PATH.exists() else {}
    untranslated, stale = problems(found, english)
    if not args.check:
        CATALOGUE_PATH.write_text(render(found, english), encoding="utf-8")
    for (context, message), where in untranslated:
        shown = f"[{context}] {message}" if context else message
        print(f"no English: {shown!r} ({where[0]})")
    for context, message in stale:
        verb = "stale" if args.check else "dropped"
        print(f"{verb}: {message!r}" + (f" [{context}]" if context else ""))
    return 1 if args.check and (untranslated or stale) else 0


if __name__ == "__main__":
    raise SystemExit(main())
