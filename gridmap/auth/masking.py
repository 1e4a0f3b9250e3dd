"""Personal-data masking: 张*明, 138****1234, ``****`` and ``—`` as a role may see them.

The maskers of single values (:func:`mask_name`, :func:`mask_phone`, :func:`mask_id_suffix`,
:func:`mask_names` over a column) and :func:`mask_frame`, which applies them to every known
personal column of a table (:data:`NAME_COLUMNS`, :data:`PHONE_COLUMNS`, :data:`ID_COLUMNS`,
:data:`TEXT_COLUMNS`) for a principal's role: full data for the roles that work with people,
masked values for viewers, nothing at all (:data:`REDACTED`) for planners — the same rules on
screen and in exports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from gridmap.auth.roles import Principal, resolve_principal
from gridmap.i18n import pair

#: What a redacted value shows to a role that may not see it at all (planners): the stored
#: mark is the Chinese; :func:`gridmap.labels.localise_redacted` shows it in English.
REDACTED = pair("(已隐藏)")[0]


def mask_name(name: str | None) -> str | None:
    """Mask a person's name: keep the first and last character, star the middle.

    Examples
    --------
    >>> mask_name("张晓明"), mask_name("李娜"), mask_name("欧阳春晓")
    ('张*明', '李*', '欧**晓')
    """
    if name is None or name != name or name == "":
        return name
    if len(name) == 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(phone: str | None) -> str | None:
    """Mask a phone number: ``13812341234`` → ``138****1234``; short numbers keep 2+2.

    Examples
    --------
    >>> mask_phone("13812341234")
    '138****1234'
    """
    if phone is None or phone != phone or phone == "":
        return phone
    if len(phone) >= 11:
        return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
    keep = max(1, len(phone) // 4)
    return phone[:keep] + "*" * (len(phone) - 2 * keep) + phone[-keep:]


def mask_id_suffix(suffix: str | None) -> str | None:
    """Hide the last digits of an ID card entirely: ``"1234"`` → ``"****"``."""
    if suffix is None or suffix != suffix or suffix == "":
        return suffix
    return "*" * len(str(suffix))


def mask_names(names: pd.Series) -> pd.Series:
    """:func:`mask_name` over a column: each distinct name masked once (a city's million
    buildings hold a few thousand leaders), missing values kept as they are."""
    codes, distinct = pd.factorize(names, use_na_sentinel=True)
    masked = np.array([mask_name(n) for n in distinct] + [None], dtype=object)
    shown = np.where(codes >= 0, masked[codes], names.to_numpy(dtype=object))
    return pd.Series(shown, index=names.index, name=names.name, dtype=object)


#: Columns holding personal data, by kind, wherever they appear in a frame.
NAME_COLUMNS: tuple[str, ...] = (
    "name_person",
    "person_name",
    "leader_name",
    "leader",
    "reporter",
    "actor_name",
    "assignee_name",
    "member_name",
    "worker_name",
    "姓名",
    "网格长",
    "楼栋长",
    "反映人",
)
PHONE_COLUMNS: tuple[str, ...] = ("phone", "leader_phone", "电话", "联系电话")
ID_COLUMNS: tuple[str, ...] = ("id_suffix", "身份证后四位")
TEXT_COLUMNS: tuple[str, ...] = ("description", "rating_note", "note", "诉求内容", "评价说明")


def mask_frame(
    frame: pd.DataFrame,
    principal: Principal | None,
    names: Iterable[str] = (),
    phones: Iterable[str] = (),
    id_suffixes: Iterable[str] = (),
    texts: Iterable[str] = (),
    personal_data: bool | None = None,
) -> pd.DataFrame:
    """A frame as ``principal`` may see it: the one place that decides masking.

    Roles with ``read_personal`` see everything; viewers see names as 张*明, phones as
    138****1234, ID suffixes as ``****`` and no request text; planners see none of these
    (:data:`REDACTED`). The columns are the known personal columns (:data:`NAME_COLUMNS` …)
    present in the frame plus the ones named; a ``name`` column counts as a person's name
    only when the frame also has a ``phone`` or ``person_id`` column.

    Parameters
    ----------
    frame : DataFrame
        The rows to show (not changed; a masked copy is returned).
    principal : Principal or None
        Whose view (None: :func:`~gridmap.auth.roles.current_principal`).
    names, phones, id_suffixes, texts : iterable of str
        Further columns of each kind, besides the known ones.
    personal_data : bool, optional
        ``False`` masks names, phones and ID suffixes (as for a viewer) even for a role that
        may read them in clear — the user has not asked for clear names. ``None`` or ``True``:
        as the role allows. Never more than the role allows.
    """
    p = resolve_principal(principal)
    if p.personal_data and personal_data is not False:
        return frame
    name_cols = set(names) | {c for c in NAME_COLUMNS if c in frame}
    if "name" in frame and ("phone" in frame or "person_id" in frame or "id_suffix" in frame):
        name_cols.add("name")
    phone_cols = set(phones) | {c for c in PHONE_COLUMNS if c in frame}
    id_cols = set(id_suffixes) | {c for c in ID_COLUMNS if c in frame}
    text_cols = set(texts) | {c for c in TEXT_COLUMNS if c in frame}
    out = frame.copy()
    redact = p.aggregates_only

    def apply(cols: set[str], masker: Callable[[Any], Any]) -> None:
        for col in cols:
            if col in out:
                out[col] = (
                    out[col]
                    .astype(object)
                    .map(lambda v: v if v is None or v != v or v == "" else masker(str(v)))
                )

    apply(name_cols, (lambda v: REDACTED) if redact else mask_name)
    apply(phone_cols, (lambda v: REDACTED) if redact else mask_phone)
    apply(id_cols, (lambda v: REDACTED) if redact else mask_id_suffix)
    if not p.can("read_request_text"):
        apply(text_cols, lambda v: REDACTED)
    return out
