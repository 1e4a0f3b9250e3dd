"""Input checks shared by the analysis modules, the imports and the forms: say what is wrong,
up front.

Like geopandas' sjoin, a public analysis function checks its frames before any work and raises
an :class:`~gridmap.errors.InputError` a user can act on (which columns are missing, that a CRS
is needed), instead of failing deep inside with a KeyError (:func:`require_frame`).

The value checks below serve every way data comes in — a file import
(:mod:`gridmap.io.parsing`, :mod:`gridmap.io.imports`), the member spreadsheet
(:mod:`gridmap.organisation.bulk`), the 12345 hotline file and the organisation forms — so the
same value is refused the same way everywhere. Each raises a :class:`ValueProblem` (an
``InputError`` whose Chinese and English halves and field are kept apart, so an import can
place it at its row and field) or returns the value normalised:

- :func:`is_scalar` / :func:`require_scalar` — one value, not an array, an object or bytes
  (a GeoJSON property ``[1, 2]`` or ``{...}`` is refused, never stored as Python text);
- :func:`count_maximum` / :func:`plausible_count` — a count within its plausible range
  (:data:`gridmap.settings.IMPORT_MAX_COUNTS`, never above the database's integer);
- :func:`local_naive` / :func:`local_today` — times with ``Z`` or ``+hh:mm`` converted to the
  naive local time the database stores (:data:`gridmap.settings.LOCAL_TIMEZONE`); naive times
  are kept as they are;
- :func:`check_party_date` / :func:`check_member_dates` — no joining before the Party's
  founding (:data:`gridmap.settings.PARTY_FOUNDED_ON`) or after today, no registration or
  contact before joining;
- :func:`normalise_phone` — a mainland mobile or landline number, separators allowed;
- :func:`check_request_times` — a resolved or evaluated request has its resolution time, not
  before it was received, and no time lies in the future.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
import unicodedata
import zoneinfo
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap import settings
from gridmap.errors import InputError
from gridmap.i18n import pair
from gridmap.models import RequestStatus


def require_frame(frame: object, name: str, columns: Sequence[str], geo: bool = False) -> None:
    """Check that ``frame`` is a DataFrame holding ``columns`` (and a GeoDataFrame with a CRS).

    Parameters
    ----------
    frame : object
        What the caller was given.
    name : str
        How the message names it ("grids", "requests" …).
    columns : sequence of str
        Columns it must have.
    geo : bool
        It must also be a GeoDataFrame with a CRS.

    Raises
    ------
    TypeError
        Not a DataFrame at all (a programming error).
    InputError
        Missing columns or CRS, named in Chinese and English.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a (Geo)DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{name} 缺少列 / lacks the column(s) {', '.join(missing)}; "
            f"it needs {', '.join(columns)}"
        )
    if geo and (not isinstance(frame, gpd.GeoDataFrame) or frame.crs is None):
        raise InputError(
            f"{name} 须为带坐标系的图层 / must be a GeoDataFrame with a CRS (e.g. EPSG:4326)"
        )


# --- values ----------------------------------------------------------------------------------

#: How the value checks name fields in Chinese (the English sentence names the field itself).
FIELD_LABELS: dict[str, str] = {
    "joined_on": "入党日期", "registered_on": "报到日期", "last_contact_on": "最后联系日期",
    "phone": "电话", "households": "户数", "residents": "人口", "employees": "从业人员",
    "members": "党员人数", "received_at": "受理时间", "resolved_at": "办结时间",
    "due_at": "办理时限",
}  # fmt: skip


def _label(field: str) -> str:
    return FIELD_LABELS.get(field, field)


class ValueProblem(InputError):
    """A value refused by a check of this module.

    The message is ``"中文 / English"`` like every error users see; :attr:`zh`, :attr:`en` and
    :attr:`field` are also kept apart, so an import can list the problem at its row and field.

    Attributes
    ----------
    zh, en : str
        The sentence in Chinese and in English.
    field : str
        The field the value was for (``joined_on``, ``phone`` …).
    """

    def __init__(self, zh: str, en: str, field: str) -> None:
        self.zh, self.en, self.field = zh, en, field
        super().__init__(f"{zh} / {en}")


def is_scalar(value: Any) -> bool:
    """Whether ``value`` is one plain value (text, number, flag, date or time, or blank).

    Arrays, lists, tuples, sets, mappings (a GeoJSON property ``[1, 2]`` or ``{"a": 1}`` as
    GDAL reads it), bytes and any other object are not.
    """
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    if isinstance(value, np.bytes_ | np.void):
        return False
    return isinstance(
        value, str | bool | int | float | decimal.Decimal | dt.date | dt.time | np.generic
    )


def _kind_of(value: Any) -> tuple[str, str]:
    if isinstance(value, dict):
        return pair("对象")
    if isinstance(value, bytes | bytearray | memoryview | np.bytes_):
        return pair("二进制数据")
    return pair("数组")


def require_scalar(value: Any, field: str, label: str | None = None) -> Any:
    """``value`` itself when it is one plain value (:func:`is_scalar`); ``label`` names the
    field in Chinese (default :data:`FIELD_LABELS`, else the field's name).

    Raises
    ------
    ValueProblem
        For an array, list, object, bytes or other container, naming the field.
    """
    if is_scalar(value):
        return value
    zh, en = _kind_of(value)
    shown = _shown(value)
    raise ValueProblem(
        f"{label or _label(field)}的值是{zh}({shown}),应为单个值(文字、数字或日期)",
        f"{field} holds {en} ({shown}); it must be a single value (text, number or date)",
        field,
    )


def _shown(value: Any) -> str:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def count_maximum(field: str) -> int:
    """The largest plausible value of a count (:data:`gridmap.settings.IMPORT_MAX_COUNTS`;
    :data:`gridmap.settings.INT_MAX` for a count without its own limit)."""
    return min(settings.IMPORT_MAX_COUNTS.get(field, settings.INT_MAX), settings.INT_MAX)


def plausible_count(value: int, field: str, minimum: int = 0, maximum: int | None = None) -> int:
    """``value`` when it lies in ``minimum`` … ``maximum`` (default :func:`count_maximum`).

    Raises
    ------
    ValueProblem
        Outside the range (1e20 households, a negative count …), naming the field.
    """
    high = count_maximum(field) if maximum is None else min(maximum, settings.INT_MAX)
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueProblem(
            f"{_label(field)}应为整数({minimum}–{high}),而不是 {_shown(value)}",
            f"{field} must be a whole number ({minimum}–{high}), not {_shown(value)}",
            field,
        )
    if not minimum <= int(value) <= high:
        raise ValueProblem(
            f"{_label(field)} {int(value)} 超出合理范围({minimum}–{high})",
            f"{field} {int(value)} is outside the plausible range {minimum}–{high}",
            field,
        )
    return int(value)


def local_naive(value: dt.datetime) -> dt.datetime:
    """A time as the database stores it: naive local time (:data:`settings.LOCAL_TIMEZONE`).

    A time with a zone (``2026-03-01T01:30:00Z``, ``…+00:00``, a GeoJSON/GeoPackage datetime
    read in UTC) is converted to local time (``2026-03-01 09:30`` in Asia/Shanghai) and loses
    its zone; a naive time is local already and kept as it is. A pandas Timestamp comes back
    as a ``datetime.datetime``.
    """
    if isinstance(value, pd.Timestamp):
        if value.tzinfo is not None:
            value = value.tz_convert(settings.LOCAL_TIMEZONE).tz_localize(None)
        return value.to_pydatetime()
    if value.tzinfo is not None:
        local = zoneinfo.ZoneInfo(settings.LOCAL_TIMEZONE)
        return value.astimezone(local).replace(tzinfo=None)
    return value


def local_today() -> dt.date:
    """Today's date in :data:`settings.LOCAL_TIMEZONE`."""
    return dt.datetime.now(zoneinfo.ZoneInfo(settings.LOCAL_TIMEZONE)).date()


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def check_party_date(
    value: dt.date, field: str = "joined_on", today: dt.date | None = None
) -> dt.date:
    """A date of a member's Party life: not before the founding, not after today.

    Parameters
    ----------
    value : datetime.date
    field : str
        Which date it is (named in the message).
    today : datetime.date, optional
        Default :func:`local_today`.

    Raises
    ------
    ValueProblem
        Before :data:`settings.PARTY_FOUNDED_ON` (1066) or in the future (2099).
    """
    day = _as_date(value)
    today = today or local_today()
    founded = settings.PARTY_FOUNDED_ON
    if day < founded:
        raise ValueProblem(
            f"{_label(field)} {day} 早于建党({founded}),不可能",
            f"{field} {day} is before the Party was founded ({founded})",
            field,
        )
    if day > today:
        raise ValueProblem(
            f"{_label(field)} {day} 晚于今天({today})",
            f"{field} {day} is in the future (today is {today})",
            field,
        )
    return day


def check_member_dates(
    joined_on: dt.date | None = None,
    registered_on: dt.date | None = None,
    last_contact_on: dt.date | None = None,
    today: dt.date | None = None,
) -> None:
    """A member's dates together: each a possible Party date (:func:`check_party_date`), and
    neither registration (报到) nor last contact before joining.

    Blank dates are not checked. Call it for a new member and after merging an edit into the
    stored row.

    Raises
    ------
    ValueProblem
        Naming the first impossible date's field.
    """
    today = today or local_today()
    dates = {"joined_on": joined_on, "registered_on": registered_on,
             "last_contact_on": last_contact_on}  # fmt: skip
    for field, value in dates.items():
        if value is not None:
            check_party_date(value, field, today)
    if joined_on is None:
        return
    joined = _as_date(joined_on)
    for field in ("registered_on", "last_contact_on"):
        value = dates[field]
        if value is not None and _as_date(value) < joined:
            raise ValueProblem(
                f"{_label(field)} {_as_date(value)} 早于入党日期 {joined}",
                f"{field} {_as_date(value)} is before joining the Party ({joined})",
                field,
            )


_PHONE_SEPARATORS = re.compile(r"[\s\-–—.()]")
_PHONE_EXTENSION = re.compile(r"^(.*?\d)\s*(?:转|分机|ext\.?|x|#)\s*(\d{1,6})$", re.IGNORECASE)
_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"(?:0[1-9]\d{1,2})?[2-9]\d{6,7}")


def _phone_digits(text: str) -> str | None:
    """Digits of a number written with separators and an optional +86/0086 prefix."""
    digits = _PHONE_SEPARATORS.sub("", text)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    else:
        return digits if digits.isdigit() else None
    if not digits.isdigit():
        return None
    return digits if digits.startswith(("0", "1")) else "0" + digits  # +86 719 … is 0719 …


def normalise_phone(value: Any, field: str = "phone") -> str | None:
    """A mainland phone number in one form, or None when blank.

    Accepted: mobile numbers (``13812341234``, ``138-1234-1234``, ``+86 138 1234 1234``) and
    landlines with or without area code (``0719-8661234``, ``(010) 6512 3456``, ``8661234``),
    optionally with an extension (``转 123``, ``ext 123``, ``0719-8661234-123``); spaces,
    hyphens, dots, brackets and full-width digits are allowed. The result is the digits
    (``13812341234``, ``07198661234``), an extension after a hyphen (``07198661234-123``).

    Raises
    ------
    ValueProblem
        For anything else ("call-me-maybe", 12 digits, a 400 number …), naming the field.
    """
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a spreadsheet number
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if not text:
        return None
    if re.fullmatch(r"\d+\.0", text):
        text = text[:-2]
    main, extension = text, None
    found = _PHONE_EXTENSION.match(text)
    if found:
        main, extension = found.group(1), found.group(2)
    digits = _phone_digits(main)
    if digits is not None and extension is None and _MOBILE.fullmatch(digits):
        return digits
    if digits is not None and _LANDLINE.fullmatch(digits):
        return digits if extension is None else f"{digits}-{extension}"
    parts = main.rsplit("-", 1)  # 0719-8661234-123: the last group is the extension
    if (
        extension is None
        and len(parts) == 2
        and "-" in parts[0]
        and re.fullmatch(r"\d{1,6}", parts[1].strip())
    ):
        digits = _phone_digits(parts[0])
        if digits is not None and _LANDLINE.fullmatch(digits):
            return f"{digits}-{parts[1].strip()}"
    shown = _shown(text)
    raise ValueProblem(
        f"{_label(field)} {shown} 不是有效的手机号或固定电话(如 13812341234、0719-8661234)",
        f"{field} {shown} is not a mainland mobile or landline number (e.g. 13812341234, "
        "0719-8661234)",
        field,
    )


#: Request statuses that need a resolution time.
RESOLVED_STATUSES: tuple[str, ...] = (RequestStatus.resolved.value, RequestStatus.evaluated.value)


def check_request_times(
    status: str,
    received_at: dt.datetime | None,
    resolved_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> None:
    """A request's times together: a resolved or evaluated request has its resolution time,
    not before it was received; neither lies more than a day in the future.

    Parameters
    ----------
    status : str
        A :class:`~gridmap.models.RequestStatus` value.
    received_at, resolved_at : datetime, optional
        Naive local times (:func:`local_naive`).
    now : datetime, optional
        Default the local wall clock.

    Raises
    ------
    ValueProblem
        Naming ``resolved_at`` or ``received_at``.
    """
    now = now or dt.datetime.now(zoneinfo.ZoneInfo(settings.LOCAL_TIMEZONE)).replace(tzinfo=None)
    latest = now + dt.timedelta(days=1)
    for field, value in (("received_at", received_at), ("resolved_at", resolved_at)):
        if value is not None and value > latest:
            raise ValueProblem(
                f"{_label(field)} {value:%Y-%m-%d %H:%M} 晚于现在({now:%Y-%m-%d %H:%M})",
                f"{field} {value:%Y-%m-%d %H:%M} is in the future (now is {now:%Y-%m-%d %H:%M})",
                field,
            )
    if str(status) in RESOLVED_STATUSES and resolved_at is None:
        raise ValueProblem(
            f"状态为 {status} 的诉求须填写办结时间",
            f"a request that is {status} needs its resolution time (resolved_at)",
            "resolved_at",
        )
    if resolved_at is not None and received_at is not None and resolved_at < received_at:
        raise ValueProblem(
            f"办结时间 {resolved_at:%Y-%m-%d %H:%M} 早于受理时间 {received_at:%Y-%m-%d %H:%M}",
            f"resolved_at {resolved_at:%Y-%m-%d %H:%M} is before received_at "
            f"{received_at:%Y-%m-%d %H:%M}",
            "resolved_at",
        )
