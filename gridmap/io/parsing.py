"""Cells parsed for import: typed field values and spreadsheet coordinates.

Each problem goes to a :class:`Collector`, which numbers rows as users count them and raises
one :class:`~gridmap.io.layers.ImportRejected` listing them all. A cell must hold one value: an
array or object (a GeoJSON property ``[1, 2]`` or ``{...}``, also when GDAL hands it over as
JSON text) is refused, never stored as Python text (:func:`gridmap.validation.require_scalar`).
Whole numbers stay within their plausible range (:func:`gridmap.validation.plausible_count`);
times with ``Z`` or an offset become the naive local time the database stores
(:func:`gridmap.validation.local_naive`), naive times are kept as read.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import shapely

from gridmap import settings
from gridmap.io.layers import BOOL_WORDS, ENUM_WORDS, Field, ImportRejected, Issue, LayerSpec
from gridmap.io.sources import SourceTable
from gridmap.validation import ValueProblem, local_naive, plausible_count, require_scalar

DMS_PATTERN = re.compile(r"\d+(\.\d+)?\s*[°度]\s*(\d+(\.\d+)?\s*['′分]?)?")


class Collector:
    """Issues of one import, with the source's row numbering."""

    def __init__(self, source: SourceTable) -> None:
        self.source = source
        self.issues: list[Issue] = list(source.issues)

    def row(self, index: Any) -> int:
        return int(index) + self.source.row_base

    def add(self, index: Any, field_name: str | None, zh: str, en: str) -> None:
        row = None if index is None else self.row(index)
        self.issues.append(Issue(zh, en, row, field_name))

    def raise_if_any(self) -> None:
        if self.issues:
            ordered = sorted(self.issues, key=lambda i: (i.row is not None, i.row or 0))
            raise ImportRejected(self.source.name, ordered, self.source.unit)


def is_blank(value: Any) -> bool:
    """True for a cell without a value: None, NaN, NaT, NA or only whitespace."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if value is pd.NaT or value is pd.NA:
        return True
    return isinstance(value, str) and not value.strip()


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | pd.Timestamp):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _parse_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return int(value) if float(value).is_integer() else None
    text = str(value).strip().replace(",", "")
    if re.fullmatch(r"[+-]?\d+(\.0+)?", text):
        return int(float(text))
    return None


def _parse_datetime(value: Any, date_only: bool) -> Any:
    if isinstance(value, dt.datetime):  # pandas Timestamps too
        value = local_naive(value)
        return value.date() if date_only else value
    if isinstance(value, dt.date):
        return value if date_only else dt.datetime(value.year, value.month, value.day)
    text = str(value).strip()
    text = re.sub(r"(\d+)年(\d+)月(\d+)日?", r"\1-\2-\3", text).replace("/", "-")
    try:
        parsed = local_naive(dt.datetime.fromisoformat(text))  # Z and +08:00 honoured
    except ValueError:
        return None
    return parsed.date() if date_only else parsed


def _parse_enum(value: Any, f: Field) -> str | None:
    text = str(value).strip()
    if text in f.choices:
        return text
    words = ENUM_WORDS.get(f.words or f.name, {})
    word = words.get(text) or words.get(text.lower())
    if word in f.choices:  # a word of another layer's field of the same name does not count
        return word
    return text.lower() if text.lower() in f.choices else None


def _parse_bool(value: Any) -> bool | None:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating) and float(value) in (0.0, 1.0):
        return bool(value)
    return BOOL_WORDS.get(str(value).strip().lower())


def parse_fields(
    spec: LayerSpec, source: SourceTable, mapping: Mapping[str, str], out: Collector
) -> pd.DataFrame:
    """The mapped columns parsed into typed values; problems go to ``out``."""
    by_field = {fname: col for col, fname in mapping.items()}
    frame = source.frame
    values = pd.DataFrame(index=frame.index)
    for f in spec.fields:
        col = by_field.get(f.name)
        if col is None:
            if f.required and not (f.name == "community_code" and spec.name == "grids"):
                out.add(
                    None,
                    f.name,
                    f"缺少必填字段 {f.label()};请在列对应中指定一列",
                    f"missing the required field {f.name} ({f.zh}); map a column to it",
                )
            values[f.name] = None
            continue
        parsed = []
        for index, raw in frame[col].items():
            try:
                require_scalar(
                    _json_container(raw) if source.kind == "geojson" else raw, f.name, f.zh
                )
            except ValueProblem as problem:
                out.add(index, col, problem.zh, problem.en)
                parsed.append(None)
                continue
            if is_blank(raw):
                if f.required:
                    out.add(index, col, f"{f.zh}不能为空", f"{f.name} must not be empty")
                parsed.append(None)
                continue
            parsed.append(_parse_value(f, raw, index, col, out))
        values[f.name] = pd.Series(parsed, index=frame.index, dtype=object)
    return values


def _json_container(raw: Any) -> Any:
    """A GeoJSON property GDAL turned into JSON text (an object or array in a column of text)
    as the object or array it was; any other value as it is."""
    if isinstance(raw, str) and raw.lstrip()[:1] in ("{", "["):
        try:
            found = json.loads(raw)
        except ValueError:
            return raw
        return found if isinstance(found, dict | list) else raw
    return raw


def _parse_value(f: Field, raw: Any, index: Any, col: str, out: Collector) -> Any:
    if f.kind == "number":
        number = _number(raw)
        low, high = f.minimum, f.maximum
        if (
            number is None
            or not math.isfinite(number)
            or (low is not None and number < low)
            or (high is not None and number > high)
        ):
            span = f"{low}–{high}" if high is not None else f"≥ {low}"
            out.add(
                index,
                col,
                f"{f.zh}应为数字({span}),而不是 {_text(raw)[:40]!r}",
                f"{f.name} must be a number ({span}), not {_text(raw)[:40]!r}",
            )
        return number
    if f.kind == "bool":
        flag = _parse_bool(raw)
        if flag is None:
            out.add(
                index,
                col,
                f"{f.zh}应为 是/否(true/false、1/0),而不是 {_text(raw)[:40]!r}",
                f"{f.name} must be yes or no (true/false, 1/0), not {_text(raw)[:40]!r}",
            )
        return flag
    if f.kind == "int":
        number = _parse_int(raw)
        low, high = f.minimum, f.maximum
        if (
            number is None
            or (low is not None and number < low)
            or (high is not None and number > high)
        ):
            span = f"{low}–{high}" if high is not None else f"≥ {low}"
            out.add(
                index,
                col,
                f"{f.zh}应为整数({span}),而不是 {_text(raw)[:40]!r}",
                f"{f.name} must be a whole number ({span}), not {_text(raw)[:40]!r}",
            )
            return number
        try:  # within the column's own bounds, but beyond what is plausible (1e20 households)
            return plausible_count(number, f.name, low if low is not None else -settings.INT_MAX,
                                   high)  # fmt: skip
        except ValueProblem as problem:
            out.add(index, col, problem.zh, problem.en)
            return None
    if f.kind == "enum":
        value = _parse_enum(raw, f)
        if value is None:
            out.add(
                index,
                col,
                f"{f.zh}的取值 {_text(raw)[:40]!r} 无效,可选:{', '.join(f.choices)}",
                f"{f.name} {_text(raw)[:40]!r} is not one of {', '.join(f.choices)}",
            )
        return value
    if f.kind in ("date", "datetime"):
        value = _parse_datetime(raw, f.kind == "date")
        if value is None:
            out.add(
                index,
                col,
                f"{f.zh}不是日期时间:{_text(raw)[:40]!r}(应如 2024-03-01 09:30)",
                f"{f.name} is not a date/time: {_text(raw)[:40]!r} (write 2024-03-01 09:30)",
            )
        return value
    text = _text(raw)
    if f.max_len is not None and len(text) > f.max_len:
        out.add(
            index,
            col,
            f"{f.zh}过长({len(text)} 字,上限 {f.max_len})",
            f"{f.name} is too long ({len(text)} characters, at most {f.max_len})",
        )
    return text


def _number(raw: Any) -> float | None:
    if isinstance(raw, int | float | np.integer | np.floating) and not isinstance(raw, bool):
        return float(raw)
    text = str(raw).strip()
    try:
        return float(text)
    except ValueError:
        return None


def spreadsheet_geometry(
    spec: LayerSpec, source: SourceTable, mapping: Mapping[str, str], out: Collector
) -> np.ndarray:
    """Geometries from a spreadsheet's WKT or lon/lat columns; problems go to ``out``."""
    by_field = {fname: col for col, fname in mapping.items()}
    frame = source.frame
    geoms = np.full(len(frame), None, dtype=object)
    if "wkt" in by_field:
        col = by_field["wkt"]
        for i, (index, raw) in enumerate(frame[col].items()):
            if is_blank(raw):
                out.add(index, col, "几何为空", "the geometry is empty")
                continue
            try:
                geoms[i] = shapely.from_wkt(str(raw).strip())
            except shapely.errors.ShapelyError:
                out.add(
                    index,
                    col,
                    f"不是有效的 WKT:{str(raw)[:40]!r}",
                    f"not valid WKT: {str(raw)[:40]!r}",
                )
        return geoms
    if "lon" in by_field and "lat" in by_field:
        if spec.geometry != "point":
            out.add(
                None,
                by_field["lon"],
                f"{spec.zh}是面图层,经纬度只能表示点;请提供 WKT 列",
                f"{spec.en} are polygons: lon/lat columns give points; map a WKT column",
            )
            return geoms
        for i, index in enumerate(frame.index):
            xy = []
            for name in ("lon", "lat"):
                col = by_field[name]
                raw = frame.at[index, col]
                if is_blank(raw):
                    out.add(index, col, "坐标为空", "the coordinate is empty")
                    break
                value = _number(raw)
                if value is None:
                    if DMS_PATTERN.search(str(raw)):
                        out.add(
                            index,
                            col,
                            f"坐标 {str(raw)[:30]!r} 是度分秒格式;请换算为十进制度(如 110.78)",
                            f"coordinate {str(raw)[:30]!r} is degrees-minutes-seconds; "
                            "write decimal degrees (e.g. 110.78)",
                        )
                    else:
                        out.add(
                            index,
                            col,
                            f"坐标不是数字:{str(raw)[:30]!r}",
                            f"the coordinate is not a number: {str(raw)[:30]!r}",
                        )
                    break
                xy.append(value)
            if len(xy) == 2:
                geoms[i] = shapely.Point(xy)
        return geoms
    if spec.geometry:
        out.add(
            None,
            "lon/lat/wkt",
            "没有坐标列:请把经度、纬度两列或一列 WKT 对应到 lon、lat 或 wkt",
            "no coordinate columns: map longitude and latitude (lon, lat) or a WKT column",
        )
    return geoms
