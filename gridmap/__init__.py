"""gridmap — community Party-building grid management (社区党建网格化管理).

The pure core: storage, model and analysis, with no Streamlit import. The app (``app.py``,
``views/``) and the ``gridmap`` command only call into it.
"""

from __future__ import annotations

__version__ = "0.1.0"
