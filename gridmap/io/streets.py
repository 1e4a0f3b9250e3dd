"""A whole street in one go: every layer of the files a street holds, in one transaction.

A street's data usually comes as one GeoPackage of several layers (how QGIS users hand data
over), a ``.zip`` or folder of shapefiles, or one file per layer. :func:`import_street` takes
any of these:

1. the layers are found (:func:`~gridmap.io.sources.read_layers`) and matched to gridmap's
   layers by their names, Chinese or English, singular or plural, whatever surrounds the word
   (:func:`layer_kind`: ``社区边界`` and ``communities`` are communities, ``shiyan_buildings``
   and ``楼宇`` buildings, ``网格_2024`` grids); ``layers={"buildings": "房屋"}`` overrides a
   guess; layers that match nothing are listed and left alone;
2. each layer's columns are mapped as a single import maps them
   (:func:`~gridmap.io.imports.suggest_mapping`, or the ``mappings`` given);
3. the layers are imported in the order their references need — communities, grids,
   buildings, stations, organisations, members, requests — each through
   :func:`~gridmap.io.imports.prepare_import` and :func:`~gridmap.io.writing.apply_import`
   on **one** connection in **one** transaction, so grids find the communities just written
   and buildings the grids. Any problem in any layer rejects the whole street: nothing is
   written, and every problem is listed with its layer, row and field
   (:class:`StreetRejected`). A dry run does all of it and rolls back.

:func:`layer_kind`, :func:`match_layers` and :func:`read_layer_for` also serve
``gridmap import LAYER`` on a file of several layers: the layer matching LAYER is read, or the
file is refused with the list of its layers.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from gridmap import auth, settings
from gridmap.db import connect, transaction
from gridmap.errors import InputError
from gridmap.i18n import pair
from gridmap.io.imports import ImportPlan, prepare_import, suggest_mapping
from gridmap.io.layers import LAYERS, ImportRejected, Issue, LayerSpec, file_error, layer_spec
from gridmap.io.sources import SourceTable, read_layers, source_layers
from gridmap.io.writing import apply_import

#: The order layers are imported in: each after the layers its references point at.
IMPORT_ORDER: tuple[str, ...] = (
    "communities", "grids", "buildings", "stations", "organisations", "members", "requests",
)  # fmt: skip

#: The words layer names are recognised by, per layer (``street`` is the street's boundary,
#: read by :func:`gridmap.bootstrap.create_street`, never imported as a layer). English words
#: are whole words of the name (``shiyan_buildings``, ``BuildingFootprints``); Chinese ones
#: anywhere in it (``社区边界``, ``网格_2024``). When a name holds several, the last one wins,
#: as the head of the phrase does in both languages: ``社区党群服务站`` is a station layer,
#: ``社区网格`` a grid layer.
LAYER_WORDS: dict[str, tuple[str, ...]] = {
    "street": ("street", "streets", "subdistrict", "subdistricts", "jiedao", "街道", "街道办",
               "街道办事处", "镇", "乡镇"),
    "communities": ("community", "communities", "comm", "comms", "shequ", "neighbourhood",
                    "neighborhood", "neighbourhoods", "neighborhoods", "社区", "居委会", "居委",
                    "村委会", "行政村", "村"),
    "grids": ("grid", "grids", "wangge", "网格", "网格单元"),
    "buildings": ("building", "buildings", "bldg", "bldgs", "bld", "blds", "footprint",
                  "footprints", "house", "houses", "loudong", "楼栋", "楼宇", "楼房", "楼盘",
                  "建筑", "建筑物", "房屋", "住宅", "楼"),
    "stations": ("station", "stations", "servicestation", "servicestations",
                 "党群服务站", "党群服务中心", "党群服务点", "服务站", "服务中心", "服务点",
                 "站点", "阵地", "党建阵地"),
    "members": ("member", "members", "partymember", "partymembers", "dangyuan", "党员",
                "党员名册", "党员信息"),
    "requests": ("request", "requests", "issue", "issues", "case", "cases", "hotline",
                 "suqiu", "诉求", "工单", "12345", "热线"),
    "organisations": ("organisation", "organisations", "organization", "organizations", "org",
                      "orgs", "enterprise", "enterprises", "company", "companies", "两新组织",
                      "两新", "企业", "非公企业", "社会组织"),
}  # fmt: skip

_ASCII_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def _words_at(name: str) -> list[tuple[int, int, str]]:
    """Every layer word in ``name``: (end position, length, kind), Chinese by substring,
    English by whole word (camel case split, underscores and digits as separators)."""
    found: list[tuple[int, int, str]] = []
    english = {w: k for k, words in LAYER_WORDS.items() for w in words if w.isascii()}
    chinese = sorted(
        ((w, k) for k, words in LAYER_WORDS.items() for w in words if not w.isascii()),
        key=lambda wk: -len(wk[0]),
    )
    for match in _ASCII_WORD.finditer(name):
        word = match.group().lower()
        if word in english:
            found.append((match.end(), len(word), english[word]))
    # joined English words: "service_stations", "Party-Members"
    tokens = [(m.group().lower(), m.end()) for m in _ASCII_WORD.finditer(name)]
    for (a, _), (b, end) in itertools.pairwise(tokens):
        if a + b in english:
            found.append((end, len(a + b), english[a + b]))
    taken = [False] * len(name)
    for word, kind in chinese:  # longest first: 党群服务站 before 服务站, 楼栋 before 楼
        start = name.find(word)
        while start >= 0:
            if not any(taken[start : start + len(word)]):
                found.append((start + len(word), len(word), kind))
                for i in range(start, start + len(word)):
                    taken[i] = True
            start = name.find(word, start + 1)
    return found


def layer_kind(name: str) -> str | None:
    """The gridmap layer a file's layer name stands for, or None when it names none.

    Parameters
    ----------
    name : str
        A layer's name as a file gives it (``shiyan_buildings``, ``社区边界``, ``网格_2024``,
        ``Communities.shp``); a suffix such as ``.shp`` is ignored.

    Returns
    -------
    str or None
        A key of :data:`~gridmap.io.layers.LAYERS` (``communities``, ``grids``, ``buildings``
        …), ``street`` for a street boundary, or None.
    """
    stem = str(name).strip()
    if Path(stem).suffix.lower() in (".shp", ".gpkg", ".geojson", ".json", ".kml", ".csv"):
        stem = Path(stem).stem
    found = _words_at(stem)
    if not found:
        return None
    return max(found, key=lambda f: (f[0], f[1]))[2]


def _kind_name(kind: str) -> str:
    """A layer kind named in both languages, for messages."""
    if kind == "street":
        return "街道 / street"
    spec = LAYERS[kind]
    return f"{spec.zh} / {spec.en}"


def _resolve_kind(text: str) -> str:
    try:
        return layer_spec(text).name
    except InputError:
        raise InputError(
            f"未知的图层类型 {text!r};可选:{', '.join(IMPORT_ORDER)} / unknown layer kind "
            f"{text!r}; choose from {', '.join(IMPORT_ORDER)}"
        ) from None


def match_layers(
    names: Iterable[str], overrides: Mapping[str, str] | None = None
) -> tuple[dict[str, str], list[str], list[Issue]]:
    """Which of a file's layers is which gridmap layer.

    Parameters
    ----------
    names : iterable of str
        The layers found (:func:`~gridmap.io.sources.source_layers`).
    overrides : mapping, optional
        Kind → layer name, chosen by the user (``--layer buildings=房屋``); a kind may be
        written as users write it (``楼栋``, ``building``). They win over the guesses.

    Returns
    -------
    tuple
        Kind → layer name, in :data:`IMPORT_ORDER`; the layers left unmatched (ignored); and
        the problems: an override naming no layer, two layers guessed as the same kind.
    """
    names = list(names)
    chosen: dict[str, str] = {}
    issues: list[Issue] = []
    for kind_text, wanted in (overrides or {}).items():
        kind = _resolve_kind(kind_text)
        hit = [n for n in names if n == wanted] or [
            n for n in names if n.casefold() == str(wanted).casefold()
        ]
        if not hit:
            listed = ", ".join(names) or "(无 / none)"
            issues.append(
                Issue(
                    f"--layer {kind_text}={wanted}:没有名为 {wanted!r} 的图层;现有图层:{listed}",
                    f"--layer {kind_text}={wanted}: no layer is called {wanted!r}; the layers "
                    f"are: {listed}",
                )
            )
            continue
        chosen[kind] = hit[0]
    taken = set(chosen.values())
    guesses: dict[str, list[str]] = {}
    for n in names:
        kind = layer_kind(n)
        if n in taken or kind is None or kind == "street" or kind in chosen:
            continue
        guesses.setdefault(kind, []).append(n)
    for kind, found in guesses.items():
        if len(found) > 1:
            issues.append(
                Issue(
                    f"有多个图层像是{LAYERS[kind].zh}({', '.join(found)});请用 --layer "
                    f"{kind}=图层名 指定一个",
                    f"several layers look like {LAYERS[kind].en} ({', '.join(found)}); "
                    f"choose one with --layer {kind}=NAME",
                )
            )
        else:
            chosen[kind] = found[0]
    ordered = {k: chosen[k] for k in IMPORT_ORDER if k in chosen}
    used = set(ordered.values())
    ignored = [n for n in names if n not in used]
    return ordered, ignored, issues


def read_layer_for(
    path: str | Path, kind: str, layer: str | None = None, name: str | None = None
) -> SourceTable:
    """The one layer of a file to import as ``kind``: ``gridmap import LAYER FILE``.

    A file of one layer is read as it is. Of a file of several (a GeoPackage, a zip or
    folder of shapefiles) the layer named ``layer`` is read, else the one whose name matches
    ``kind`` (:func:`layer_kind`); when none or several match, the file is refused with the
    list of its layers and how to choose (``--layer NAME``).

    Raises
    ------
    ImportRejected
        As :func:`~gridmap.io.sources.read_source`, and when no layer can be chosen.
    """
    path = Path(path)
    shown = name or path.name
    spec = layer_spec(kind)
    if layer is not None:
        return next(iter(read_layers(path, shown, only=[layer]).values()))
    names = source_layers(path, shown)
    if len(names) == 1:
        return read_layers(path, shown)[names[0]]
    hits = [n for n in names if layer_kind(n) == spec.name]
    if len(hits) == 1:
        return read_layers(path, shown, only=hits)[hits[0]]
    listed = ", ".join(names)
    found = f"有多个像是{spec.zh}的图层({', '.join(hits)})" if hits else f"没有像是{spec.zh}的图层"
    found_en = (
        f"several layers look like {spec.en} ({', '.join(hits)})"
        if hits
        else f"no layer looks like {spec.en}"
    )
    raise file_error(
        shown,
        f"文件中有多个图层({listed}),{found};请用 --layer 图层名 选择一个,或用 "
        "gridmap import street 一次导入整个街道",
        f"the file holds several layers ({listed}) and {found_en}: choose one with "
        "--layer NAME, or import them all with `gridmap import street`",
    )


# --- the result -------------------------------------------------------------------------------


@dataclass
class StreetLayer:
    """One layer of a street import: where it came from, how it maps, what it would do.

    Attributes
    ----------
    kind : str
        The gridmap layer (``communities``, ``grids`` …).
    name : str
        The layer's name in the file.
    source : SourceTable
    mapping : dict
        Column → field used.
    plan : ImportPlan or None
        What the layer adds, changes and leaves alone (None when it was rejected).
    rejected : ImportRejected or None
        The layer's problems, when it has any.
    """

    kind: str
    name: str
    source: SourceTable
    mapping: dict[str, str]
    plan: ImportPlan | None = None
    rejected: ImportRejected | None = None

    @property
    def spec(self) -> LayerSpec:
        return LAYERS[self.kind]

    def counts(self) -> dict[str, int]:
        """``rows`` in the file and, once prepared, ``added``, ``changed``, ``unchanged``,
        ``repaired`` and ``estimated`` (rows whose households are estimated, not counted)."""
        out = {"rows": len(self.source.frame)}
        if self.plan is not None:
            out.update(self.plan.summary())
            out["estimated"] = estimated_rows(self.plan)
        return out


def estimated_rows(plan: ImportPlan) -> int:
    """How many rows an import plan writes with estimated households (derived from the
    footprint, marked ``households_estimated``): :attr:`ImportPlan.derived`."""
    return int(plan.derived.get("households", 0))


@dataclass
class StreetProblem:
    """One problem of a street import: the layer (None for the whole import), the file it
    names, the problem, and how that file counts its rows."""

    kind: str | None
    file: str
    issue: Issue
    unit: tuple[str, str] = pair("行")

    def text(self) -> str:
        where = f"{self.file}({_kind_name(self.kind)})" if self.kind else self.file
        return f"{where}: {self.issue.text(self.unit)}"


@dataclass
class StreetImport:
    """What a whole-street import did or would do.

    Attributes
    ----------
    layers : list of StreetLayer
        The layers imported, in :data:`IMPORT_ORDER`.
    ignored : list of str
        Layers of the files that matched no gridmap layer, left alone.
    problems : list of StreetProblem
        Every problem of every layer; any rejects the whole street.
    dry_run : bool
    written : bool
        Whether the street was written (False for a dry run and a rejected import).
    """

    layers: list[StreetLayer] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    problems: list[StreetProblem] = field(default_factory=list)
    dry_run: bool = False
    written: bool = False

    @property
    def ok(self) -> bool:
        """True when no layer has a problem."""
        return not self.problems

    def layer(self, kind: str) -> StreetLayer | None:
        """The layer imported as ``kind``, if any."""
        return next((lay for lay in self.layers if lay.kind == kind), None)

    def summary(self) -> dict[str, dict[str, int]]:
        """Kind → the layer's :meth:`StreetLayer.counts`."""
        return {lay.kind: lay.counts() for lay in self.layers}

    def describe(self) -> str:
        """The layer mapping, each layer's column mapping and counts, the layers ignored and
        every problem, in Chinese and English: what ``gridmap import street`` prints."""
        lines = ["图层对应 / layers:"]
        for lay in self.layers:
            lines.append(f"  {lay.name} → {_kind_name(lay.kind)} ({lay.source.name})")
        for name in self.ignored:
            lines.append(f"  {name} → (未识别,不导入 / not recognised, ignored)")
        for lay in self.layers:
            lines.append(f"{lay.spec.zh} / {lay.spec.en} ← {lay.name}:")
            if lay.mapping:
                pairs = ", ".join(f"{c} → {f}" for c, f in lay.mapping.items())
                lines.append(f"  列对应 / columns: {pairs}")
            else:
                lines.append("  列对应 / columns: (无 / none)")
            unmapped = [c for c in lay.source.columns if c not in lay.mapping]
            if unmapped:
                lines.append(f"  未使用的列 / columns not used: {', '.join(unmapped)}")
            c = lay.counts()
            if lay.plan is not None:
                # added / changed / unchanged, and what was derived (estimated households …)
                lines.append(f"  {lay.plan.describe()}")
                lines += [f"  注意 / note: {w}" for w in lay.plan.warnings]
                lines.append(f"  坐标系 / CRS: {lay.plan.source_crs}")
            else:
                lines.append(f"  {c['rows']} 条,未导入 / {c['rows']} rows, not imported")
        if self.problems:
            n = len(self.problems)
            lines.append(f"问题 / problems ({n}):")
            lines += [f"  - {p.text()}" for p in self.problems]
        if self.written:
            lines.append("已全部导入(一个事务)/ every layer was imported, in one transaction")
        elif self.problems:
            lines.append("有问题,整个街道未导入,数据库未作任何修改 / problems found: nothing "
                         "was written")  # fmt: skip
        elif self.dry_run:
            lines.append("试导入,未写入 / dry run: nothing was written")
        return "\n".join(lines)


class StreetRejected(ImportRejected):
    """A whole-street import refused because of problems in its layers; nothing was written.

    Attributes
    ----------
    result : StreetImport
        Every layer, its mapping and counts, and every problem (:meth:`StreetImport.describe`).
    """

    def __init__(self, result: StreetImport) -> None:
        self.result = result
        self.file = ", ".join(dict.fromkeys(p.file for p in result.problems)) or "street"
        self.issues = [p.issue for p in result.problems]
        self.unit = pair("行")
        shown: list[str] = []
        per_layer: dict[str | None, int] = {}
        for p in result.problems:
            per_layer[p.kind] = per_layer.get(p.kind, 0) + 1
            if per_layer[p.kind] <= settings.IMPORT_MAX_ISSUES_SHOWN:
                shown.append(f"  - {p.text()}")
        for kind, n in per_layer.items():
            if n > settings.IMPORT_MAX_ISSUES_SHOWN:
                rest = n - settings.IMPORT_MAX_ISSUES_SHOWN
                what = _kind_name(kind) if kind else "其他 / other"
                shown.append(
                    f"  … {what} 另有 {rest} 个问题(--dry-run 全部列出) / and {rest} more "
                    "(--dry-run lists them all)"
                )
        n = len(result.problems)
        head = (
            f"整个街道导入被拒绝,数据库未作任何修改 / the street import was rejected, nothing "
            f"was written ({n} 个问题 / problem{'s' if n != 1 else ''})"
        )
        InputError.__init__(self, "\n".join([head, *shown]))


# --- the import -------------------------------------------------------------------------------

#: What ``sources`` may be: paths of files or folders, or layers already read.
Sources = str | Path | SourceTable | Sequence[str | Path | SourceTable] | Mapping[str, SourceTable]


def _gather(sources: Sources) -> tuple[dict[str, SourceTable], list[StreetProblem], list[str]]:
    """Every layer of the sources by a unique name, the problems reading them, and the files."""
    found: dict[str, SourceTable] = {}
    problems: list[StreetProblem] = []
    files: list[str] = []
    if isinstance(sources, Mapping):
        items: list[tuple[str | None, Any]] = list(sources.items())
    elif isinstance(sources, str | Path | SourceTable):
        items = [(None, sources)]
    else:
        items = [(None, s) for s in sources]
    for given, item in items:
        if isinstance(item, SourceTable):
            name = given or item.layer or Path(item.name).stem
            layers = {name: item}
            files.append(item.name)
        else:
            path = Path(item)
            files.append(path.name)
            try:
                layers = read_layers(path)
            except ImportRejected as exc:
                problems += [StreetProblem(None, exc.file, i, exc.unit) for i in exc.issues]
                continue
        for name, source in layers.items():
            if layer_kind(name) is None and ":" not in source.name:
                # a file's one layer with a name of no meaning (layer1): the file's name may
                # have one (楼栋.gpkg)
                stem = Path(source.name).stem
                name = stem if layer_kind(stem) is not None else name
            key = name if name not in found else f"{Path(source.name).name}:{name}"
            found[key] = source
    return found, problems, files


def _with_street(source: SourceTable, street: str, mapping: dict[str, str]) -> SourceTable:
    """A communities layer given the street's code where it has no street column."""
    if "street_code" in mapping.values():
        return source
    frame = source.frame.copy()
    column = "street_code" if "street_code" not in frame.columns else "_street_code"
    frame[column] = street
    mapping[column] = "street_code"
    return SourceTable(
        source.name, source.kind, frame, source.geometry, source.crs, source.row_base,
        source.encoding, list(source.issues), source.layer,
    )  # fmt: skip


def import_street(
    bind: Engine | Connection,
    sources: Sources,
    *,
    layers: Mapping[str, str] | None = None,
    mappings: Mapping[str, Mapping[str, str]] | None = None,
    street: str | None = None,
    dry_run: bool = False,
    **options: Any,
) -> StreetImport:
    """Import every layer of a street's files in one transaction: all of them or nothing.

    Parameters
    ----------
    bind : Engine or Connection
        Given a connection already in a transaction, the import joins it: the caller commits,
        and must roll back when :class:`StreetRejected` is raised (as
        :func:`gridmap.db.transaction` does); a dry run needs an Engine (or a connection
        outside any transaction).
    sources : path, paths, SourceTable(s) or mapping of name → SourceTable
        A GeoPackage of several layers, a ``.zip`` or folder of shapefiles, one file per
        layer, or layers already read (the app's uploads: :func:`read_upload_layers`).
    layers : mapping, optional
        Kind → layer name, overriding the guesses of :func:`match_layers`.
    mappings : mapping, optional
        Kind → its column → field mapping; default :func:`suggest_mapping` per layer.
    street : str, optional
        The street's code for a communities layer without a street column, when the database
        holds several streets.
    dry_run : bool
        Check and count everything, then roll back: nothing is written.
    **options
        Passed to :func:`~gridmap.io.imports.prepare_import` for every layer (``crs``,
        ``swap_latlon``, ``fix_invalid``, ``update``, ``plan``).

    Returns
    -------
    StreetImport
        The layers, their mappings, counts and problems (a dry run returns its problems
        rather than raising).

    Raises
    ------
    StreetRejected
        When any layer has a problem (not in a dry run). Nothing is written.
    PermissionDenied
        Unless the acting user may import (street administrators).
    """
    auth.current_principal().require("import")
    found, problems, files = _gather(sources)
    chosen, ignored, issues = match_layers(found, layers)
    label = ", ".join(files) or "street"
    problems += [StreetProblem(None, label, i) for i in issues]
    result = StreetImport(ignored=ignored, problems=problems, dry_run=dry_run)
    for kind, name in chosen.items():
        source = found[name]
        given = (mappings or {}).get(kind)
        mapping = dict(given) if given is not None else suggest_mapping(source, kind)
        if kind == "communities" and street is not None:
            source = _with_street(source, street, mapping)
        result.layers.append(StreetLayer(kind, name, source, mapping))
    if not result.layers and not result.problems:
        listed = ", ".join(found) or "(无 / none)"
        result.problems.append(
            StreetProblem(
                None,
                label,
                Issue(
                    f"没有可识别的图层(社区、网格、楼栋、党群服务站……);文件中的图层:{listed};"
                    "请用 --layer 类型=图层名 指定",
                    f"no layer is recognised (communities, grids, buildings, stations …); the "
                    f"layers are: {listed}; name them with --layer KIND=NAME",
                ),
            )
        )
    if result.layers:  # even when a file was unreadable: every other problem is listed too
        _run(bind, result, options)
    if result.problems and not dry_run:
        raise StreetRejected(result)
    return result


def _run(bind: Engine | Connection, result: StreetImport, options: dict[str, Any]) -> None:
    """Prepare and write each layer on one connection; commit only a clean, real import.

    A connection already in a transaction is joined (not a savepoint: SQLite's driver would
    commit at its release); the caller's rollback then undoes a rejected import."""
    with connect(bind) as conn:
        joined = conn.in_transaction()
        if joined and result.dry_run:
            raise InputError(
                "试导入需要自己的事务:请传入 Engine 而不是已开启事务的连接 / a dry run needs a "
                "transaction of its own: pass an Engine, not a connection inside a transaction"
            )
        tx = None if joined else conn.begin()
        try:
            with transaction(conn):
                for lay in result.layers:
                    try:
                        plan = prepare_import(conn, lay.kind, lay.source, lay.mapping, **options)
                        apply_import(conn, plan)
                        lay.plan = plan
                    except ImportRejected as exc:
                        lay.rejected = exc
                        result.problems += [
                            StreetProblem(lay.kind, exc.file, i, exc.unit) for i in exc.issues
                        ]
                if not result.problems and not result.dry_run:
                    auth.audit(conn, None, "street_import", "street", None, None,
                               {"layers": {lay.kind: lay.name for lay in result.layers},
                                "counts": result.summary(), "ignored": result.ignored})  # fmt: skip
        except BaseException:
            if tx is not None:
                tx.rollback()
            raise
        if tx is None:  # the caller's transaction: it commits, or rolls back on StreetRejected
            result.written = not result.problems
            return
        if result.problems or result.dry_run:
            tx.rollback()
            for lay in result.layers:
                if lay.plan is not None:
                    lay.plan.written = False
        else:
            tx.commit()
            result.written = True
