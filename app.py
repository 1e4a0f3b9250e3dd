"""gridmap — the app: the login, then each role's pages (``pages/``) through ``st.navigation``.

Run with ``gridmap serve`` (or ``streamlit run app.py``). The pages a role finds are
:data:`gridmap.auth.ROLE_PAGES`; every page is registered, so an address such as ``/requests``
works before and after the login, and a page outside the role's list says so instead of running.
"""

from __future__ import annotations

import streamlit as st

from ui_common import ICON, route, t

st.set_page_config(
    page_title=t("gridmap 社区党建网格化管理"),
    page_icon=str(ICON),
    layout="wide",
)
route()
