"""gridmap.auth: personal data is masked the same way everywhere."""

from __future__ import annotations

import pandas as pd
import pytest

from gridmap.auth import mask_name, mask_names, mask_phone


@pytest.mark.parametrize(
    "name, masked",
    [
        ("张晓明", "张*明"),
        ("李娜", "李*"),
        ("欧阳春晓", "欧**晓"),
        ("王", "*"),
        ("", ""),
        (None, None),
    ],
)
def test_mask_name(name, masked) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    "phone, masked",
    [("13812341234", "138****1234"), ("07198881234", "071****1234"), ("12345", "1***5")],
)
def test_mask_phone(phone, masked) -> None:
    assert mask_phone(phone) == masked


def test_mask_names_keeps_missing() -> None:
    out = mask_names(pd.Series(["张晓明", None]))
    assert out.iloc[0] == "张*明" and out.iloc[1] is None
