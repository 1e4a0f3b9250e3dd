"""Personal-data masking (张*明, 138****1234) applied wherever names and phones leave the core.

Users, roles, scopes and the audit log are specified in DESIGN.md §3; until they are built, every
name and phone that reaches a map or an export goes through these masks.
"""

from __future__ import annotations

import pandas as pd


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


def mask_names(names: pd.Series) -> pd.Series:
    """:func:`mask_name` over a column."""
    return names.map(mask_name)
