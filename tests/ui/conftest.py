"""Fixtures of the UI tests: fresh Streamlit caches around every test, and a writable copy of
the demo street for tests that change data (the shared demo database is only read)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    """AppTest runs the app in this process: no cached engine or layer may leak between tests."""
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture
def demo_copy(demo_db_url: str, tmp_path: Path) -> str:
    """A writable copy of the demo street's SQLite file (with its WAL, if any); its URL."""
    source = Path(demo_db_url.removeprefix("sqlite:///"))
    target = tmp_path / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copy(f"{source}{suffix}", f"{target}{suffix}")
    return f"sqlite:///{target}"
