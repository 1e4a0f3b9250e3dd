"""The printable community report for the street committee's monthly meeting (社区工作报告).

:func:`build_community_report` gathers, for one community: the headline figures, the coverage
problems, member density, request hotspots, request handling, organisation-form advice and the
under-covered ranking (:mod:`gridmap.planning`), with maps drawn **offline** as static PNG
images (matplotlib through ``GeoDataFrame.plot``; no tile server, no CDN) embedded as base64 in
one self-contained HTML page. Chinese text in the maps uses ``settings.REPORT_CJK_FONT`` ("Noto
Sans CJK SC", Debian ``fonts-noto-cjk``), found with matplotlib's font manager; without it the
report stops with a clear error rather than print empty boxes.

PDF: the same HTML printed by headless Chromium (``settings.CHROMIUM``, env
``GRIDMAP_CHROMIUM``; ``--print-to-pdf``), so the PDF and the HTML are the same document.

This module reads the database through :mod:`gridmap.repository` (one query per layer) and then
calls the pure analysis modules; it has no UI.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import logging
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib import colormaps, font_manager
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from sqlalchemy import Connection, Engine

from gridmap import settings
from gridmap.coverage import PROBLEM_KINDS, check_coverage, filter_problems, problem_table
from gridmap.crs import metric_crs
from gridmap.density import member_density
from gridmap.errors import GridmapError, InputError
from gridmap.hotspots import (
    HOTSPOT_CLASSES,
    grid_request_stats,
    request_hotspots,
    summarise_hotspots,
)
from gridmap.i18n import LANGS, Language, pair, text
from gridmap.labels import unit
from gridmap.organisation import STATUS_LABELS, organisation_advice
from gridmap.planning import FACTORS, PlanningInputs, rank_areas
from gridmap.repository import StreetLayers, load_street_layers, read_table
from gridmap.weights import street_weights

__all__ = [
    "FORMATS",
    "SECTIONS",
    "ReportError",
    "build_community_report",
    "cjk_font_path",
    "community_report_html",
    "generated_at",
    "html_to_pdf",
    "load_planning_inputs",
    "report_now",
]

log = logging.getLogger(__name__)

FORMATS: tuple[str, ...] = ("html", "pdf")
#: The report's sections: id → (中文 title, English title), in order.
SECTIONS: dict[str, tuple[str, str]] = {
    "overview": pair("一、社区概况"),
    "coverage": pair("二、网格覆盖问题"),
    "density": pair("三、党员分布"),
    "hotspots": pair("四、诉求热点"),
    "requests": pair("五、诉求办理情况"),
    "organisation": pair("六、党组织设置建议"),
    "planning": pair("七、薄弱区域排名"),
}


class ReportError(GridmapError):
    """The report cannot be made here: no CJK font, no Chromium for the PDF."""

    exit_code = 7


# --- inputs ----------------------------------------------------------------------------------


def report_now(engine: Engine | Connection) -> dt.datetime:
    """ "Now" for overdue requests: the one "now" of every page
    (:func:`gridmap.requests.street_now`)."""
    from gridmap.requests import street_now

    return street_now(engine)


def generated_at() -> dt.datetime:
    """The time the report is made, on the street's clock (``settings.LOCAL_TIMEZONE``)."""
    return dt.datetime.now(ZoneInfo(settings.LOCAL_TIMEZONE))


def _zone_name(lang: Language) -> str:
    if settings.LOCAL_TIMEZONE == "Asia/Shanghai":
        return text("北京时间", lang)
    return settings.LOCAL_TIMEZONE


def load_planning_inputs(
    engine: Engine,
    radius_m: float | None = None,
    now: dt.datetime | None = None,
    layers: StreetLayers | None = None,
) -> tuple[PlanningInputs, StreetLayers]:
    """The layers :mod:`gridmap.planning` reads, loaded in one query each."""
    layers = load_street_layers(engine) if layers is None else layers
    organisations = read_table(engine, "organisation")  # 两新组织: blind spots in the ranking
    organisations = organisations[organisations["community_id"].isin(layers.communities["id"])]
    inputs = PlanningInputs(
        grids=layers.grids,
        buildings=layers.buildings,
        stations=layers.stations,
        members=read_table(engine, "member"),
        workers=read_table(engine, "grid_worker"),
        requests=read_table(engine, "request"),
        now=report_now(engine) if now is None else now,
        radius_m=settings.SERVICE_REACH_M if radius_m is None else radius_m,
        organisations=organisations,
    )
    return inputs, layers


# --- static maps -----------------------------------------------------------------------------


def cjk_font_path() -> str:
    """The font file of ``settings.REPORT_CJK_FONT``; a :class:`ReportError` names the package."""
    try:
        return font_manager.findfont(
            font_manager.FontProperties(family=settings.REPORT_CJK_FONT),
            fallback_to_default=False,
        )
    except ValueError:
        raise ReportError(
            f"找不到中文字体 {settings.REPORT_CJK_FONT} / the CJK font "
            f"{settings.REPORT_CJK_FONT!r} is not installed: install Debian's fonts-noto-cjk "
            "(apt-get install fonts-noto-cjk), then delete matplotlib's font cache"
        ) from None


@dataclass
class _Canvas:
    figure: Figure
    ax: object
    crs: object


def _canvas(extent: gpd.GeoDataFrame) -> _Canvas:
    font = cjk_font_path()
    font_manager.fontManager.addfont(font)
    figure = Figure(figsize=(7.2, 5.2), dpi=settings.REPORT_MAP_DPI)
    ax = figure.add_subplot()
    ax.set_axis_off()
    ax.set_aspect("equal")
    crs = metric_crs(extent)
    minx, miny, maxx, maxy = extent.to_crs(crs).total_bounds
    pad = max(maxx - minx, maxy - miny) * 0.04 + 20
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    return _Canvas(figure, ax, crs)


def _draw(canvas: _Canvas, frame: gpd.GeoDataFrame, **style) -> None:
    if frame is not None and len(frame):
        frame.to_crs(canvas.crs).plot(ax=canvas.ax, **style)


def _scale_bar(canvas: _Canvas, lang: Language) -> None:
    ax = canvas.ax
    (x0, x1), (y0, _y1) = ax.get_xlim(), ax.get_ylim()
    length = 100 * max(1, round((x1 - x0) / 5 / 100))
    x, y = x0 + (x1 - x0) * 0.04, y0 + (x1 - x0) * 0.03
    ax.plot([x, x + length], [y, y], color="black", linewidth=3)
    ax.text(x + length / 2, y + (x1 - x0) * 0.012,
            text("{distance} 米", lang, distance=f"{length:,.0f}"), ha="center",
            fontsize=8, family=settings.REPORT_CJK_FONT)  # fmt: skip


def _png(canvas: _Canvas, title: str, handles: list, lang: Language) -> str:
    family = settings.REPORT_CJK_FONT
    canvas.ax.set_title(title, fontsize=11, family=family)
    if handles:
        canvas.ax.legend(
            handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0),
            prop={"family": family, "size": 8}, title=text("图例", lang),
            title_fontproperties={"family": family, "size": 9}, frameon=True,
        )  # fmt: skip
    _scale_bar(canvas, lang)
    buffer = io.BytesIO()
    canvas.figure.savefig(buffer, format="png", bbox_inches="tight", metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _base_layers(
    canvas: _Canvas, community: gpd.GeoDataFrame, grids, buildings, lang: Language
) -> list:
    _draw(canvas, buildings, color="#bdbdbd", linewidth=0)
    _draw(canvas, grids, facecolor="none", edgecolor="#1f6fb2", linewidth=0.8, linestyle="--")
    _draw(canvas, community, facecolor="none", edgecolor="#c8161d", linewidth=1.8)
    return [
        Patch(facecolor="none", edgecolor="#c8161d", label=text("社区边界", lang)),
        Patch(facecolor="none", edgecolor="#1f6fb2", linestyle="--", label=text("网格", lang)),
        Patch(facecolor="#bdbdbd", label=text("楼栋", lang)),
    ]


def _stations(canvas: _Canvas, stations: gpd.GeoDataFrame, lang: Language) -> list:
    _draw(canvas, stations, color="#e08a00", markersize=40, edgecolor="black", zorder=5)
    return [Line2D([], [], marker="o", linestyle="", color="#e08a00", markeredgecolor="black",
                   label=text("党群服务站", lang))]  # fmt: skip


# --- the report ------------------------------------------------------------------------------


def _table(frame: pd.DataFrame, columns: dict[str, str], empty: str) -> str:
    if frame.empty:
        return f"<p class='empty'>{html.escape(empty)}</p>"
    shown = frame.loc[:, list(columns)].rename(columns=columns)
    return shown.to_html(index=False, escape=True, na_rep="—", border=0, classes="data")


def _img(b64: str, alt: str) -> str:
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{b64}'>"


def _p(sentence: str) -> str:
    return f"<p>{html.escape(sentence)}</p>"


STYLE = """
@page { size: A4; margin: 16mm 14mm; }
body { font-family: 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif; font-size: 10.5pt;
       color: #222; max-width: 960px; margin: 0 auto; }
h1 { color: #c8161d; border-bottom: 3px solid #c8161d; padding-bottom: 4px; }
h2 { color: #7a0c0c; margin-top: 1.4em; border-left: 5px solid #c8161d; padding-left: 8px; }
section { page-break-inside: auto; }
section + section { page-break-before: always; }
/* page 1 carries the headline figures and the headline map (coverage problems) */
section#coverage { page-break-before: auto; }
section#coverage img { max-height: 150mm; }
table.data th { white-space: nowrap; }
img { max-width: 100%; border: 1px solid #ddd; }
table.data { border-collapse: collapse; width: 100%; margin: .6em 0; font-size: 9pt; }
table.data th, table.data td { border: 1px solid #bbb; padding: 3px 5px; text-align: left; }
table.data th { background: #f3e3e3; }
.figures { display: grid; grid-template-columns: repeat(4, 1fr); gap: 6px; }
.figure { border: 1px solid #ddd; padding: 6px; }
.figure b { display: block; font-size: 14pt; color: #c8161d; }
.empty { color: #666; }
.meta { color: #666; }
"""


def community_report_html(
    engine: Engine,
    community_code: str,
    radius_m: float | None = None,
    now: dt.datetime | None = None,
    permutations: int = settings.HOTSPOT_PERMUTATIONS,
    lang: Language = "zh",
) -> str:
    """The community report as one self-contained HTML page (images embedded, no URL).

    Parameters
    ----------
    lang : {"zh", "en"}
        The report's language: headings, figures, tables, maps and the problems' sentences
        (names of places and people stay as stored).

    Raises
    ------
    InputError
        For an unknown community code.
    ReportError
        When the CJK font is missing.
    """
    i = LANGS.index(lang)
    inputs, layers = load_planning_inputs(engine, radius_m, now)
    communities = layers.communities
    match = communities[communities["code"] == community_code]
    if match.empty:
        known = ", ".join(communities["code"].astype(str))
        raise InputError(
            f"社区编码不存在 / no community with code {community_code!r}; known: {known}"
        )
    community = match.iloc[[0]]
    cid = community["id"].iloc[0]
    name = str(community["name"].iloc[0])
    radius = float(inputs.radius_m)
    grids = layers.grids[layers.grids["community_id"] == cid]
    buildings = layers.buildings[layers.buildings["community_id"] == cid]
    near = layers.stations[
        layers.stations.to_crs(metric_crs(community))
        .distance(community.to_crs(metric_crs(community)).geometry.iloc[0])
        .to_numpy()
        <= radius
    ]
    street = str(layers.streets["name"].iloc[0]) if len(layers.streets) else ""
    cjk_font_path()  # fail before any work when the font is missing
    parts: list[str] = []

    # 1 overview
    coverage = check_coverage(
        layers.communities,
        layers.grids,
        layers.buildings,
        layers.stations,
        radius,
        organisations=inputs.organisations,  # 两新组织: blind spots among the problems
        score_weights=street_weights(engine, "coverage_score"),  # the street's own
    )
    summary = coverage.community_summary.set_index("code").loc[community_code]
    members = inputs.members
    member_buildings = set(buildings["id"])
    n_members = int(members["building_id"].isin(member_buildings).sum())
    requests = inputs.requests
    stats = grid_request_stats(requests, grids, inputs.now)
    households = int(buildings["households"].fillna(0).sum())
    estimated = (
        int(buildings.loc[buildings["households_estimated"].fillna(False).astype(bool),
                          "households"].fillna(0).sum())
        if "households_estimated" in buildings
        else 0
    )  # fmt: skip
    figures = [
        (text("网格", lang), f"{len(grids)}{unit('个', lang)}"),
        (text("楼栋", lang), f"{len(buildings):,}{unit('栋', lang)}"),
        (
            text("住户", lang) if not estimated else text("住户(含估算)", lang),
            f"{households:,}{unit('户', lang)}"
            + (text(",其中估算 {n:,} 户", lang, n=estimated) if estimated else ""),
        ),
        (text("党员", lang), f"{n_members:,}{unit('名', lang)}"),
        (text("党群服务站(社区内及周边)", lang), f"{len(near)}{unit('个', lang)}"),
        (text("诉求(全部)", lang), f"{int(stats['requests'].sum()):,}{unit('件', lang)}"),
        (text("未办结诉求", lang), f"{int(stats['open'].sum()):,}{unit('件', lang)}"),
        (text("覆盖综合得分", lang), f"{summary['score']:.1f}{unit('分', lang)}"),
    ]
    boxes = "".join(
        f"<div class='figure'>{html.escape(k)}<b>{html.escape(v)}</b></div>" for k, v in figures
    )
    parts.append(
        _section(
            "overview",
            f"<div class='figures'>{boxes}</div>"
            + _p(
                text(
                    "服务半径按 {radius:,.0f} 米计;统计截至 {day}。",
                    lang,
                    radius=radius,
                    day=f"{inputs.now:%Y-%m-%d}",
                )
            ),
            lang,
        )
    )

    # 2 coverage
    problems = filter_problems(coverage.problems, [community_code])
    canvas = _canvas(community)
    handles = _base_layers(canvas, community, grids, buildings, lang)
    for kind, (*names, colour) in PROBLEM_KINDS.items():
        rows = problems[problems["kind"] == kind]
        if len(rows):
            _draw(canvas, rows, color=colour, alpha=0.7, edgecolor=colour, linewidth=1.5)
            handles.append(Patch(facecolor=colour, alpha=0.7, label=f"{names[i]}({len(rows)})"))
    handles += _stations(canvas, near, lang)
    image = _png(canvas, text("{community} 网格覆盖问题", lang, community=name), handles, lang)
    parts.append(
        _section(
            "coverage",
            _img(image, text("覆盖问题地图", lang))
            + _p(text("共发现 {n} 个问题。", lang, n=len(problems)))
            + _table(
                problem_table(problems, lang),
                {
                    "label": text("问题类型", lang),
                    "grid_code": text("网格编码", lang),
                    "detail": text("说明", lang),
                },
                text("未发现覆盖问题。", lang),
            ),
            lang,
        )
    )

    # 3 density
    density = member_density(layers.grids, layers.buildings, members, community_ids=[cid])
    dgrids = density.grids
    canvas = _canvas(community)
    values = dgrids["members_per_100_households"]
    _draw(canvas, dgrids[values.notna().to_numpy()], column="members_per_100_households",
          cmap="Reds", linewidth=0.5, edgecolor="white", legend=False)  # fmt: skip
    handles = _base_layers(canvas, community, None, None, lang)[:1]
    if values.notna().any():
        lo, hi = float(values.min()), float(values.max())
        cmap = colormaps["Reds"]
        for q in np.linspace(0, 1, 4):
            v = lo + q * (hi - lo)
            handles.append(Patch(color=cmap(q), label=f"{v:.1f}{unit('名/百户', lang)}"))
    image = _png(canvas, text("{community} 每百户党员数", lang, community=name), handles, lang)
    totals = density.totals
    parts.append(
        _section(
            "density",
            _img(image, text("党员分布地图", lang))
            + _p(
                text(
                    "全社区党员 {members:,} 名,每百户 {per_100:.1f} 名;双报到在职党员 "
                    "{registered:,} 名,失联党员 {lost:,} 名。",
                    lang,
                    members=totals["members"],
                    per_100=totals["members_per_100_households"],
                    registered=totals["in_service_registered"],
                    lost=totals["lost_contact"],
                )
            )
            + _table(
                pd.DataFrame(dgrids.drop(columns=dgrids.geometry.name)).round(
                    {"members_per_100_households": 1}
                ),
                {
                    "grid_code": text("网格编码", lang),
                    "grid_name": text("网格", lang),
                    "households": text("户数(户)", lang),
                    "members": text("党员(名)", lang),
                    "members_per_100_households": text("每百户党员(名)", lang),
                    "in_service_registered": text("双报到(名)", lang),
                },
                text("本社区没有网格。", lang),
            ),
            lang,
        )
    )

    # 4 hotspots (Gi* over the street's grids, shown for this community)
    hot = request_hotspots(
        requests, layers.grids, layers.buildings, unit="grid", permutations=permutations
    )
    cells = hot.cells[hot.cells["unit_id"].isin(grids["id"])]
    canvas = _canvas(community)
    handles = _base_layers(canvas, community, None, None, lang)[:1]
    for cls, (*names, colour) in HOTSPOT_CLASSES.items():
        rows = cells[cells["cls"] == cls]
        if len(rows):
            _draw(canvas, rows, color=colour, edgecolor="white", linewidth=0.5)
            handles.append(Patch(color=colour, label=f"{names[i]}({len(rows)})"))
    image = _png(canvas, text("{community} 诉求热点(Gi*)", lang, community=name), handles, lang)
    nothing = text("在所选条件下未发现统计上显著的诉求热点。", lang)  # summarise_hotspots' own
    in_community = [
        line for line in summarise_hotspots(hot, lang) if name in line or line == nothing
    ]
    lines = in_community or [text("{community}未处在全街道诉求热点的核心。", lang, community=name)]
    parts.append(
        _section(
            "hotspots",
            _img(image, text("诉求热点地图", lang)) + "".join(_p(x) for x in lines),
            lang,
        )
    )

    # 5 request handling
    shown = stats.round({"median_hours_to_resolve": 1, "mean_rating": 2})
    total = int(stats["requests"].sum())
    overdue = int(stats["overdue"].sum())
    parts.append(
        _section(
            "requests",
            _p(
                text(
                    "本社区共受理诉求 {total:,} 件,未办结 {open:,} 件,其中超期 {overdue:,} 件。",
                    lang,
                    total=total,
                    open=int(stats["open"].sum()),
                    overdue=overdue,
                )
            )
            + _table(
                shown,
                {
                    "grid_code": text("网格编码", lang),
                    "grid_name": text("网格", lang),
                    "requests": text("诉求(件)", lang),
                    "open": text("未办结(件)", lang),
                    "overdue": text("超期(件)", lang),
                    "median_hours_to_resolve": text("办结中位时长(小时)", lang),
                    "mean_rating": text("平均评价(分)", lang),
                },
                text("本社区没有网格。", lang),
            ),
            lang,
        )
    )

    # 6 organisation-form advice
    advice = organisation_advice(
        layers.communities, layers.grids, layers.buildings,
        read_table(engine, "party_org"), members,
    )  # fmt: skip
    rows = advice.problems()
    rows = rows[rows["community_code"] == community_code].assign(
        status_label=lambda f: f["status"].map(lambda s: STATUS_LABELS[s][i])
    )
    parts.append(
        _section(
            "organisation",
            _table(
                rows,
                {
                    "grid_code": text("网格编码", lang),
                    "members": text("党员(名)", lang),
                    "status_label": text("情况", lang),
                    "advice" if lang == "zh" else "advice_en": text("建议", lang),
                },
                text("本社区各网格党组织设置合理。", lang),
            ),
            lang,
        )
    )

    # 7 under-covered ranking
    classes = pd.DataFrame(hot.cells[["unit_id", "cls"]])
    ranking = rank_areas(
        inputs,
        weights=street_weights(engine, "planning"),
        hotspots=classes,
        community_ids=[cid],
    )
    top = ranking.top(settings.PLANNING_TOP_AREAS)
    canvas = _canvas(community)
    _draw(canvas, ranking.table, column="score", cmap="OrRd", vmin=0, vmax=100,
          edgecolor="white", linewidth=0.5)  # fmt: skip
    handles = _base_layers(canvas, community, None, None, lang)[:1]
    for v in (0, 25, 50, 75):
        handles.append(
            Patch(color=colormaps["OrRd"](v / 100), label=text("{score} 分及以上", lang, score=v))
        )
    _draw(canvas, top.head(3), facecolor="none", edgecolor="black", linewidth=2)
    weakest = text("最薄弱的 3 个网格", lang)
    handles.append(Patch(facecolor="none", edgecolor="black", label=weakest))
    handles += _stations(canvas, near, lang)
    image = _png(
        canvas, text("{community} 薄弱区域得分(越高越需加强)", lang, community=name), handles, lang
    )
    weights = text("、", lang).join(
        text("{factor} {weight:g} 分", lang, factor=FACTORS[k][i], weight=v)
        for k, v in ranking.weights.items()
    )
    parts.append(
        _section(
            "planning",
            _img(image, text("薄弱区域地图", lang))
            + _p(
                text(
                    "得分 0–100,越高越需要加强;由各项指标按权重合成:{weights}。",
                    lang,
                    weights=weights,
                )
            )
            + _table(
                pd.DataFrame(top.drop(columns=top.geometry.name)),
                {
                    "rank": text("排名", lang),
                    "label": text("网格", lang),
                    "score": text("得分", lang),
                    "why" if lang == "zh" else "why_en": text("原因", lang),
                },
                text("各网格指标均在合理范围内。", lang),
            ),
            lang,
        )
    )

    title = text("{community}网格化管理工作报告", lang, community=name)
    meta = text(
        "{street} · 社区编码 {code} · 生成于 {when}({zone},gridmap)",
        lang,
        street=street,
        code=community_code,
        when=f"{generated_at():%Y-%m-%d %H:%M}",
        zone=_zone_name(lang),
    )
    return (
        f"<!DOCTYPE html><html lang='{'zh-CN' if lang == 'zh' else 'en'}'><head>"
        f"<meta charset='utf-8'><title>{html.escape(title)}</title><style>{STYLE}</style>"
        f"</head><body><h1>{html.escape(title)}</h1><p class='meta'>{html.escape(meta)}</p>"
        + "".join(parts)
        + "</body></html>"
    )


def _section(key: str, body: str, lang: Language) -> str:
    title = SECTIONS[key][LANGS.index(lang)]
    return f"<section id='{key}'><h2>{html.escape(title)}</h2>{body}</section>"


def html_to_pdf(page: str, chromium: str | None = None, timeout_s: int = 180) -> bytes:
    """Print an HTML page to PDF with headless Chromium (A4, no header or footer).

    Raises
    ------
    ReportError
        When Chromium is missing or fails.
    """
    exe = chromium or os.environ.get("GRIDMAP_CHROMIUM") or settings.CHROMIUM
    if not Path(exe).exists():
        raise ReportError(
            f"找不到 Chromium / Chromium not found at {exe}: install it (apt-get install "
            "chromium) or set GRIDMAP_CHROMIUM; the HTML report needs nothing"
        )
    with tempfile.TemporaryDirectory(prefix="gridmap-report-") as tmp:
        source = Path(tmp) / "report.html"
        target = Path(tmp) / "report.pdf"
        source.write_text(page, encoding="utf-8")
        command = [
            exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-extensions",
            f"--user-data-dir={Path(tmp) / 'profile'}", "--no-pdf-header-footer",
            f"--print-to-pdf={target}", source.as_uri(),
        ]  # fmt: skip
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout_s, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ReportError(f"Chromium 打印 PDF 失败 / Chromium could not print: {exc}") from exc
        if not target.exists() or target.stat().st_size == 0:
            tail = done.stderr.decode("utf-8", "replace")[-400:]
            raise ReportError(f"Chromium 未生成 PDF / Chromium made no PDF: {tail}")
        return target.read_bytes()


def build_community_report(
    engine: Engine,
    community_code: str,
    fmt: str = "html",
    radius_m: float | None = None,
    now: dt.datetime | None = None,
    permutations: int = settings.HOTSPOT_PERMUTATIONS,
    lang: Language = "zh",
) -> bytes:
    """The printable report of one community, as HTML (UTF-8) or PDF bytes.

    Parameters
    ----------
    engine : Engine
    community_code : str
        e.g. ``"420303001-004"``.
    fmt : {"html", "pdf"}
        HTML: one self-contained page, maps as embedded PNG. PDF: that page printed by headless
        Chromium.
    radius_m : float, optional
        Walking radius of a station; default ``settings.SERVICE_REACH_M``.
    now : datetime, optional
        For overdue requests; default the demo date on the demo street, else the clock.
    permutations : int
        Gi* permutations of the hotspot section.
    lang : {"zh", "en"}
        The report's language (Chinese by default: what the street's meeting reads).
    """
    if fmt not in FORMATS:
        raise InputError(f"未知的报告格式 / unknown report format {fmt!r}; use html or pdf")
    page = community_report_html(engine, community_code, radius_m, now, permutations, lang)
    if fmt == "html":
        return page.encode("utf-8")
    return html_to_pdf(page)
