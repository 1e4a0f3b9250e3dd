"""``gridmap requests``: residents' requests (诉求) — 12345 hotline import, Open311 export and
handling statistics per grid or member and the monthly assessment (三率).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from gridmap.cli.common import PROBLEMS_FOUND_EXIT, db_option, json_text, reports_errors
from gridmap.cli.root import main


@main.group("requests")
def requests_group() -> None:
    """Residents' requests (诉求): 12345 hotline import, Open311 export, handling statistics."""


def _parse_now(now: str | None, engine: Any) -> Any:
    """--now as a datetime (local time), else the street's "now" (the app's:
    :func:`gridmap.requests.street_now`)."""
    import datetime as dt

    from gridmap.errors import InputError
    from gridmap.requests import street_now

    if now is None:
        return street_now(engine)
    try:
        return dt.datetime.fromisoformat(now)
    except ValueError:
        raise InputError(
            f"无法识别的时间 / cannot read --now {now!r}: use e.g. 2026-10-31T08:00"
        ) from None


@requests_group.command("import")
@db_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--crs",
    type=click.Choice(["wgs84", "gcj02"]),
    default="wgs84",
    show_default=True,
    help="Coordinates of the file: WGS 84, or GCJ-02 (高德/腾讯) converted on import.",
)
@click.option(
    "--map",
    "mappings",
    multiple=True,
    metavar="FIELD=COLUMN",
    help="Column of a field when the header is not recognised, e.g. --map external_id=单号 "
    "(fields: external_id, received_at, category, description, reporter, address, lon, lat).",
)
@click.option("--strict", is_flag=True, help="Write nothing when any row is rejected.")
@click.option("--dry-run", is_flag=True, help="Check and list the rows, write nothing.")
@reports_errors
def requests_import(
    db_url: str | None,
    file: Path,
    crs: str,
    mappings: tuple[str, ...],
    strict: bool,
    dry_run: bool,
) -> None:
    """Import a 12345 hotline export (CSV in UTF-8/UTF-8 BOM/GBK, or XLSX).

    Rows are placed by coordinates or by an address matched to a building name; rows that
    cannot be placed are listed with the reason; work orders already imported are skipped, so
    importing the same file twice adds nothing. Exits 1 when any row was rejected.
    """
    from gridmap.db import open_database
    from gridmap.errors import InputError
    from gridmap.requests import guess_mapping, import_hotline, preview_hotline, read_hotline

    engine = open_database(db_url)
    mapping = None
    if mappings:
        mapping = guess_mapping(read_hotline(file).columns)
        for item in mappings:
            key, sep, column = item.partition("=")
            if not sep:
                raise InputError(f"--map 需要 FIELD=COLUMN / --map needs FIELD=COLUMN: {item!r}")
            mapping[key.strip()] = column.strip()
    if dry_run:
        result = preview_hotline(engine, read_hotline(file), mapping, crs)
    else:
        result = import_hotline(engine, file, mapping=mapping, crs=crs, strict=strict)
    click.echo(("(试运行 / dry run) " if dry_run else "") + result.summary())
    for row in result.rejected.itertuples():
        click.echo(f"  第 {row.row} 行 / row {row.row} [{row.external_id}]: {row.reason}")
    if result.request_ids:
        from gridmap.requests import possible_duplicates

        _echo_duplicates(possible_duplicates(engine, result.request_ids))
    sys.exit(PROBLEMS_FOUND_EXIT if len(result.rejected) else 0)


def _echo_duplicates(found: Any) -> None:
    """One line per possible duplicate (:func:`gridmap.requests.duplicate_candidates`)."""
    if len(found):
        click.echo(f"疑似重复 / possible duplicates: {len(found)}")
    for row in found.itertuples():
        click.echo(
            f"  {row.request_code} → {row.original_code}\t{row.category}\t"
            f"{row.distance_m:.0f} m\t+{row.days_after:.1f} d"
        )


@requests_group.command("open311")
@db_option
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--services",
    "services_out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the service list (GET services.json) to this file.",
)
@click.option(
    "--status",
    type=click.Choice(["all", "open", "closed"]),
    default="all",
    show_default=True,
)
@reports_errors
def requests_open311(db_url: str | None, out: Path, services_out: Path | None, status: str) -> None:
    """Export requests as Open311 GeoReport v2 JSON (the body of GET requests.json)."""
    from gridmap.db import open_database
    from gridmap.requests import CLOSED_STATUSES, OPEN_STATUSES, export_open311

    statuses = {"all": None, "open": OPEN_STATUSES, "closed": CLOSED_STATUSES}[status]
    payload = export_open311(open_database(db_url), statuses)
    out.write_text(json_text(payload["requests"], indent=1), "utf-8")
    click.echo(f"已导出 {len(payload['requests'])} 条诉求 / requests written to {out}")
    if services_out is not None:
        services_out.write_text(json_text(payload["services"], indent=1), "utf-8")
        click.echo(f"已导出 {len(payload['services'])} 类服务 / services written to {services_out}")


@requests_group.command("stats")
@db_option
@click.option("--by", type=click.Choice(["grid", "member"]), default="grid", show_default=True)
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file (default: standard output).")  # fmt: skip
@click.option("--now", default=None, metavar="ISO", help="Count overdue as of this time.")
@reports_errors
def requests_stats(
    db_url: str | None, by: str, fmt: str, out: Path | None, now: str | None
) -> None:
    """Per grid or per member: requests handled, median time to resolve, overdue, average
    rating and member points (for the periodic appraisal), of the grids and members the
    --user may see. Member names are masked; a planner gets no per-member statistics. CSV
    cells are neutralised against formula injection, as in every export."""
    from gridmap.db import open_database
    from gridmap.io import table_to_csv
    from gridmap.requests import localise_stats, stats_for

    engine = open_database(db_url)
    stats = stats_for(engine, _parse_now(now, engine), by=by)
    if fmt == "json":
        data = (json_text(stats.to_dict("records"), indent=1) + "\n").encode("utf-8")
    else:
        data = table_to_csv(localise_stats(stats))  # UTF-8 with BOM, formulas neutralised
    if out is None:
        click.echo(data.decode("utf-8-sig"), nl=False)
    else:
        out.write_bytes(data)
        click.echo(f"已导出 {len(stats)} 行 / {len(stats)} rows written to {out}", err=True)


@requests_group.command("todo")
@db_option
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option("--now", default=None, metavar="ISO", help="Urgency as of this time.")
@reports_errors
def requests_todo(db_url: str | None, fmt: str, now: str | None) -> None:
    """The open requests to act on, most urgent first — overdue, due within
    REQUEST_DUE_SOON_HOURS, then the rest — of the grids the --user may see (a grid worker:
    the own grid), as the worklist of 诉求办理 shows them."""
    from gridmap.db import open_database
    from gridmap.requests import STATUS_LABELS, URGENCY_LABELS, load_requests, worklist

    engine = open_database(db_url)
    todo = worklist(load_requests(engine), _parse_now(now, engine))
    if fmt == "json":
        rows = todo[["id", "code", "category", "status", "urgency", "hours_left", "due_at"]]
        records = [
            {**r, "hours_left": None if r["hours_left"] != r["hours_left"] else r["hours_left"]}
            for r in rows.assign(due_at=rows["due_at"].astype(str)).to_dict("records")
        ]
        click.echo(json_text(records, indent=1))
        return
    click.echo(f"待办诉求 / to do: {len(todo)}")
    for row in todo.itertuples():
        left = "" if row.hours_left != row.hours_left else f"{row.hours_left:+.0f} h"
        urgency = "/".join(URGENCY_LABELS[row.urgency])
        status = STATUS_LABELS[row.status][0]
        click.echo(f"{urgency}\t{left}\t{row.code}\t{row.category}\t{status}\t{row.due_at}")


@requests_group.command("rates")
@db_option
@click.option("--month", default=None, metavar="YYYY-MM",
              help="The month assessed (default: the last whole month).")  # fmt: skip
@click.option(
    "--by",
    type=click.Choice(["street", "community", "grid", "worker", "member"]),
    default="community",
    show_default=True,
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "xlsx"]),
    default="text",
    show_default=True,
    help="xlsx: the month's ranking and every month, one sheet each (needs --out).",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file (default: standard output).")  # fmt: skip
@click.option("--now", default=None, metavar="ISO", help="Count due and overdue as of this time.")
@reports_errors
def requests_rates(
    db_url: str | None, month: str | None, by: str, fmt: str, out: Path | None, now: str | None
) -> None:
    """The monthly assessment (接诉即办 三率): response, resolution, satisfaction and on-time
    rates of each street, community, grid, grid worker or member (党员领单) in --month, ranked
    by the street's weighted score, of the requests the --user may see. Rejected requests and
    duplicates are counted apart; a unit with fewer than MIN_RANKED_REQUESTS accepted requests
    is listed, not ranked. Worker and member names are masked; a planner gets no rates per
    worker or member."""
    import pandas as pd

    from gridmap.db import open_database
    from gridmap.errors import InputError
    from gridmap.io.spreadsheets import tables_to_xlsx
    from gridmap.requests import (
        assessed_month,
        localise_rates,
        month_of,
        rank_month,
        rate_definitions,
        rates_for,
    )

    engine = open_database(db_url)
    moment = _parse_now(now, engine)
    wanted = month_of(month) if month is not None else assessed_month(moment)
    rates = rates_for(engine, moment, by=by)
    ranking = rank_month(rates, wanted)
    if fmt == "xlsx":
        if out is None:
            raise InputError("xlsx 须写入文件 / --format xlsx needs --out FILE")
        sheets = {f"{wanted} 排名": localise_rates(ranking), "逐月 by month": localise_rates(rates)}
        out.write_bytes(tables_to_xlsx(sheets))
        click.echo(f"已导出 {len(ranking)} 行 / {len(ranking)} rows written to {out}", err=True)
        return
    if fmt == "json":
        data = json_text({"month": str(wanted), "by": by, "rows": ranking.to_dict("records")})
    else:
        shown = ranking[["rank", "unit_code", "unit_name", "accepted", "response_rate",
                         "resolution_rate", "satisfaction_rate", "on_time_rate", "score",
                         "rejected", "duplicates"]]  # fmt: skip
        ranks = shown["rank"].map(lambda r: "—" if pd.isna(r) else str(int(r)))
        shown = localise_rates(shown.assign(rank=ranks))
        lines = [f"诉求三率考核 / request handling assessment {wanted} ({by}): {len(ranking)}"]
        if len(shown):
            lines.append(shown.to_string(index=False, na_rep="—"))
        else:
            lines.append("该月没有可统计的诉求 / no requests received that month")
        lines += [f"  {v}" for v in rate_definitions("zh").values()]
        data = "\n".join(lines)
    if out is None:
        click.echo(data)
    else:
        out.write_text(data + "\n", encoding="utf-8")
        click.echo(f"已导出 {len(ranking)} 行 / {len(ranking)} rows written to {out}", err=True)


@requests_group.command("duplicates")
@db_option
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@reports_errors
def requests_duplicates(db_url: str | None, fmt: str) -> None:
    """Open requests that look like another open one — same category, within
    DUPLICATE_DISTANCE_M and DUPLICATE_DAYS after it — proposed for merging
    (`gridmap requests merge`)."""
    from gridmap.db import open_database
    from gridmap.requests import possible_duplicates

    found = possible_duplicates(open_database(db_url))
    if fmt == "json":
        click.echo(json_text(found.to_dict("records"), indent=1))
        return
    if found.empty:
        click.echo("没有疑似重复的诉求 / no possible duplicates")
    _echo_duplicates(found)


def _request_id(engine: Any, code_or_id: str) -> int:
    """The id of a request given by its code or its id."""
    from sqlalchemy import or_, select

    from gridmap.errors import InputError
    from gridmap.repository import table

    req = table("request")
    key = code_or_id.strip()
    match = [req.c.code == key] + ([req.c.id == int(key)] if key.isdigit() else [])
    with engine.connect() as conn:
        found = conn.execute(select(req.c.id).where(or_(*match))).scalars().all()
    if len(found) != 1:
        raise InputError(f"诉求 {code_or_id} 不存在 / no request {code_or_id!r}")
    return int(found[0])


@requests_group.command("merge")
@db_option
@click.argument("request")
@click.option("--into", "original", required=True, metavar="CODE|ID",
              help="The open request it duplicates.")  # fmt: skip
@click.option("--note", default=None)
@click.option("--now", default=None, metavar="ISO", help="Time of the step (default: now).")
@reports_errors
def requests_merge(
    db_url: str | None, request: str, original: str, note: str | None, now: str | None
) -> None:
    """Merge REQUEST (code or id) into --into as its duplicate: REQUEST is closed (rejected,
    reason code duplicate) and the original counts its reporters (the "me too" count)."""
    from gridmap.db import open_database
    from gridmap.requests import merge_duplicate

    engine = open_database(db_url)
    rid, into = _request_id(engine, request), _request_id(engine, original)
    status = merge_duplicate(engine, rid, into, now=_parse_now(now, engine), note=note)
    click.echo(f"已合并 / merged {request} → {original} ({status})")


@requests_group.command("reroute")
@db_option
@click.argument("request")
@click.option("--category", default=None, help="The new category (its time limit applies).")
@click.option("--department", default=None, help="The new department (部门接单).")
@click.option("--reason", required=True)
@click.option("--now", default=None, metavar="ISO", help="Time of the step (default: now).")
@reports_errors
def requests_reroute(
    db_url: str | None,
    request: str,
    category: str | None,
    department: str | None,
    reason: str,
    now: str | None,
) -> None:
    """Re-route REQUEST (code or id, 改派): another --category (the due time recomputed from
    its time limit) and/or another --department, with a --reason; audited."""
    from gridmap.db import open_database
    from gridmap.requests import request_detail, reroute

    engine = open_database(db_url)
    rid = _request_id(engine, request)
    reroute(engine, rid, reason, category=category, department=department,
            now=_parse_now(now, engine))  # fmt: skip
    detail = request_detail(engine, rid)
    click.echo(
        f"已改派 / re-routed {detail['code']}: {detail['category']}"
        + (f", {detail['department']}" if detail["department"] else "")
        + f"; 办结时限 / due {detail['due_at']}"
    )


@requests_group.command("digest")
@db_option
@click.option("--date", "day", default=None, metavar="YYYY-MM-DD",
              help="The day reported on (default: the last whole day).")  # fmt: skip
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option("--now", default=None, metavar="ISO", help="Read as of this time.")
@reports_errors
def requests_digest(db_url: str | None, day: str | None, fmt: str, now: str | None) -> None:
    """The day's digest for the morning meeting, of the requests the --user may see: new,
    overdue, due within REQUEST_DUE_LIST_HOURS, escalated and low-rated requests, and each grid
    worker's overdue and due-soon counts."""
    import datetime as dt

    import pandas as pd

    from gridmap.db import open_database
    from gridmap.errors import InputError
    from gridmap.requests import DIGEST_PARTS, DIGEST_TITLES, STATUS_LABELS, digest_for

    engine = open_database(db_url)
    when = None
    if day is not None:
        try:
            when = dt.date.fromisoformat(day)
        except ValueError:
            raise InputError(
                f"无法识别的日期 / cannot read --date {day!r}: use YYYY-MM-DD"
            ) from None
    digest = digest_for(engine, _parse_now(now, engine), when)
    shown = ["code", "category", "status", "received_at", "due_at", "hours_left"]
    if fmt == "json":
        out: dict[str, Any] = {"day": str(digest.day), "as_of": str(digest.as_of),
                               "counts": digest.counts()}  # fmt: skip
        for part in DIGEST_PARTS:
            frame = getattr(digest, part)
            cols = [*shown, "rating"] if part == "low_ratings" else shown
            out[part] = frame[cols].astype(str).to_dict("records")
        out["by_worker"] = digest.by_worker.astype(str).to_dict("records")
        click.echo(json_text(out, indent=1))
        return
    titles = {k: " / ".join(v) for k, v in DIGEST_TITLES.items()}
    counts = digest.counts()
    click.echo(f"诉求日报 / daily digest {digest.day} (截至 / as of {digest.as_of:%Y-%m-%d %H:%M})")
    click.echo("  " + " · ".join(f"{titles[k]} {counts[k]}" for k in DIGEST_PARTS))
    for part in DIGEST_PARTS:
        frame = getattr(digest, part)
        if len(frame):
            click.echo(f"\n{titles[part]}: {len(frame)}")
            status = frame["status"].map(lambda v: STATUS_LABELS[v][0])
            click.echo(frame[shown].assign(status=status).to_string(index=False, na_rep="—"))
    if len(digest.by_worker):
        click.echo("\n网格员 / grid workers (超期 overdue, 将到期 due soon):")
        for row in digest.by_worker.itertuples():
            who = "未派网格员 / with no grid worker" if pd.isna(row.worker_id) else row.worker_name
            click.echo(f"  {who}\t{row.overdue}\t{row.due_soon}")
