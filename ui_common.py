"""Shared pieces of the Streamlit pages: the database, the sidebar and the language toggle.

UI only: every number and map comes from the gridmap core; this module only wires it to
Streamlit (caching, sidebar widgets, error display).
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from gridmap import auth, settings
from gridmap.bootstrap import open_or_create_default
from gridmap.coverage import CoverageReport, check_coverage
from gridmap.errors import GridmapError
from gridmap.i18n import language, pair, text
from gridmap.labels import Language, label
from gridmap.labels import unit as labels_unit
from gridmap.maps import Bounds, community_bounds, grid_bounds
from gridmap.repository import StreetLayers, community_summary, data_version, load_street_layers
from gridmap.weights import street_weights

#: Seconds a cached layer or analysis is kept at most. Caches are keyed on the data version
#: (:func:`gridmap.repository.data_version`), so gridmap's own writes refresh them at once; the
#: limit only bounds how long a change made outside gridmap (e.g. by a DBA) stays unseen.
CACHE_TTL_S = 600


#: What :func:`md_text` escapes: any ASCII punctuation character (CommonMark lets each be
#: escaped with a backslash) except where markdown gives it no meaning, so that codes and
#: sentences read as typed: a hyphen or underscore between two letters or digits (no list, rule
#: or emphasis starts there) and a colon before a non-ASCII character (Streamlit's ``:red[``,
#: ``:material/``, emoji and ``http:`` all go on in ASCII; at worst a shortcode's closing colon
#: there shows an emoji glyph).
_MD_PUNCTUATION = re.compile(
    rf"(?<=[^\W_])[-_](?=[^\W_])|:(?=[^\x00-\x7f])|([{re.escape(string.punctuation)}])"
)
#: Line breaks and tabs: a value is shown on one line, so it can start no block of its own.
_MD_BREAKS = re.compile(r"[\t\n\v\f\r\x1c-\x1e\x85\u2028\u2029]")


def md_text(value: object) -> str:
    r"""A value as literal text inside a Streamlit markdown string.

    Streamlit renders markdown (never raw HTML) in ``st.markdown``, ``st.caption``,
    ``st.info``/``warning``/``error``/``success``, titles, headers, expander, tab and widget
    labels: a stored name such as ``![x](http://host/t.png)`` would make every browser fetch
    that image, ``[x](http://host)`` would be a link, ``:red[x]`` or ``$x$`` would be styled.
    Every piece of stored or typed data put into such a string goes through this function.

    Parameters
    ----------
    value : object
        Any single value; ``None`` and NaN/NaT/NA show as "—".

    Returns
    -------
    str
        ``str(value)`` on one line (line breaks and tabs become spaces, outer blanks dropped)
        with every ASCII punctuation character backslash-escaped, which also neutralises
        Streamlit's ``:color[…]``/``:material/…:`` directives, emoji shortcodes and ``$`` LaTeX.
        A hyphen or underscore between two letters or digits (``420303001-001-B0101``,
        ``comm_code``) and a colon before a non-ASCII character (``热点 1:车城``) mean nothing
        to markdown and are left as is.

    Examples
    --------
    >>> md_text("![x](http://e.example/t.png) :red[a] $b$")
    '\\!\\[x\\]\\(http\\:\\/\\/e\\.example\\/t\\.png\\) \\:red\\[a\\] \\$b\\$'
    >>> md_text(None), md_text("NO-SUCH"), md_text("a_b *c*\n- d")
    ('—', 'NO-SUCH', 'a_b \\*c\\* \\- d')
    """
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return "—"
    plain = _MD_BREAKS.sub(" ", str(value)).strip()
    return _MD_PUNCTUATION.sub(lambda m: "\\" + m[1] if m[1] else m[0], plain)


@st.cache_resource(show_spinner="正在打开数据库… / Opening the database…")
def _engine(url: str | None) -> Engine:
    return open_or_create_default(url)


def engine() -> Engine:
    """The app's database (the demo street on a fresh machine); a clear error stops the page."""
    try:
        return _engine(None)
    except GridmapError as exc:
        st.error(md_text(exc))
        st.stop()
        raise  # unreachable: st.stop() ends the script run


@st.cache_data(ttl=CACHE_TTL_S, show_spinner="正在加载图层… / Loading the layers…")
def street_layers(url: str) -> StreetLayers:
    """The street's map layers, cached per database."""
    return load_street_layers(engine())


@st.cache_data(ttl=CACHE_TTL_S, show_spinner="正在检查网格覆盖… / Checking grid coverage…")
def coverage_report(url: str, radius_m: float) -> CoverageReport:
    """The coverage check of the whole street at one service radius, with the street's own
    score weights, cached per database (a change of weights is audited: a new key)."""
    layers = street_layers(url)
    return check_coverage(
        layers.communities,
        layers.grids,
        layers.buildings,
        layers.stations,
        radius_m,
        organisations=organisations(url),
        score_weights=street_weights(engine(), "coverage_score"),
    )


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def organisations(url: str) -> pd.DataFrame:
    """The 两新组织 of the communities the user may see, cached per database."""
    from gridmap.repository import read_table

    frame = read_table(engine(), "organisation")
    return frame[frame["community_id"].isin(street_layers(url).communities["id"])]


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def summary_table(url: str) -> pd.DataFrame:
    """Per-community counts, cached per database."""
    return community_summary(engine())


def database_key() -> str:
    """A cache key naming the database in use (password hidden), its data version and what the
    logged-in user may see: cached layers and analyses are never shared between scopes or
    roles, and any write through gridmap (which changes the data version) refreshes them."""
    version = data_version(engine())
    return f"{database_url()}@{version}#{auth.current_principal().scope_key}"


def database_url() -> str:
    """The database in use, password hidden (for display)."""
    return engine().url.render_as_string(hide_password=True)


def principal() -> auth.Principal:
    """The logged-in user of this session (after :func:`sidebar`)."""
    return auth.current_principal()


#: What a session keeps in ``st.session_state`` across a logout or an expired login: the
#: language only. Prepared downloads, cached data and every widget's value are dropped.
KEPT_AT_LOGOUT: tuple[str, ...] = ("lang", "kept_lang")


def drop_session_data() -> None:
    """Forget everything this browser session holds except :data:`KEPT_AT_LOGOUT`, so the
    next person to log in in the same tab finds nothing of the previous one."""
    for key in list(st.session_state.keys()):
        if key not in KEPT_AT_LOGOUT:
            del st.session_state[key]


def log_out() -> None:
    """End the login (its token can no longer be used, in this tab or any other holding its
    cookie) and drop the session's data (the logout button's callback, run before the next
    script run); the login form then clears the cookie."""
    auth.SESSIONS.end(st.session_state.get("auth_token"))
    drop_session_data()
    st.session_state["clear_cookie"] = True
    auth.set_current(None)


def _browser_post(path: str, body: dict[str, str]) -> None:
    """POST ``body`` (JSON) to ``path`` of this server from the browser, so that the response's
    cookie lands in it (``asgi.py``'s session routes). Drawn as an invisible component."""
    import json

    import streamlit.components.v1 as components

    payload = json.dumps(body)
    components.html(
        "<script>fetch(" + json.dumps(path) + ", {method: 'POST', credentials: 'same-origin', "
        "headers: {'Content-Type': 'application/json'}, body: " + json.dumps(payload) + "});"
        "</script>",
        height=0,
    )


#: Below this page width (px) the sidebar lies over the content: it is folded after a page change.
PHONE_WIDTH_PX = 768


def _fold_sidebar_on_phone() -> None:
    """After a page change on a narrow screen, fold the sidebar (Streamlit leaves it open,
    lying over the page the user just chose). Drawn as an invisible component."""
    import streamlit.components.v1 as components

    components.html(
        "<script>(function () { const top = window.parent; "
        f"if (top.innerWidth >= {PHONE_WIDTH_PX}) return; "
        "const bar = top.document.querySelector('[data-testid=\"stSidebar\"]'); "
        "if (!bar || bar.getAttribute('data-collapsed') !== 'false') return; "
        "const fold = top.document.querySelector("
        "'[data-testid=\"stSidebarCollapseButton\"] button'); "
        "if (fold) fold.click(); })();</script>",
        height=0,
    )


def _session_token() -> tuple[str | None, bool]:
    """The session token of this browser tab, and whether it came from the cookie (a reload
    or a new tab of a browser logged in already) rather than this tab's session state."""
    token = st.session_state.get("auth_token")
    if token:
        return token, False
    try:
        token = st.context.cookies.get(settings.SESSION_COOKIE)
    except Exception:  # no browser (a bare script run): no cookie to read
        token = None
    if not isinstance(token, str):  # AppTest answers with a stand-in object, not a cookie
        token = None
    return token, bool(token)


def _owner() -> str:
    """Whose prepared data this is: the user and what they may see."""
    p = principal()
    return f"{p.user_id}/{p.name}/{p.scope_key}"


def keep_prepared(key: str, value: object) -> None:
    """Keep a prepared download (or other data made for this user) in the session, tagged with
    the logged-in user: :func:`prepared` gives it back to that user only."""
    st.session_state[key] = (_owner(), value)


def prepared(key: str) -> object | None:
    """What :func:`keep_prepared` kept under ``key`` for the logged-in user, else None."""
    held = st.session_state.get(key)
    if not isinstance(held, tuple) or len(held) != 2 or held[0] != _owner():
        return None
    return held[1]


def _login_gate() -> auth.Principal:
    """The logged-in principal; else the login form, and the page stops here."""
    token, from_cookie = _session_token()
    if token:
        try:
            found = auth.session_principal(engine(), token)
        except auth.SessionExpired as exc:
            drop_session_data()  # the next login in this tab starts clean
            st.session_state["clear_cookie"] = True
            if not from_cookie:  # a cookie of an ended login is just forgotten
                st.warning(md_text(exc))
        else:
            st.session_state["auth_token"] = token
            auth.set_current(found)
            return found
    auth.set_current(None)
    st.title(t("登录 gridmap"))
    with st.form("login"):
        name = st.text_input(t("用户名"), key="login_name")
        password = st.text_input(t("密码"), type="password", key="login_pw")
        submitted = st.form_submit_button(t("登录"), type="primary")
    if submitted:
        try:
            found = auth.authenticate(engine(), name, password)
        except GridmapError as exc:
            st.error(md_text(exc))  # may quote the user name typed
        else:
            token = auth.SESSIONS.start(found)
            st.session_state["auth_token"] = token
            _keep_all(token)
            st.session_state["cookie_code"] = auth.SESSIONS.hand_off(token)
            st.session_state.pop("login_pw", None)
            st.rerun()
    try:
        demo, users = auth.is_unchanged_demo(engine()), len(auth.list_users(engine()))
    except GridmapError as exc:  # e.g. the database is busy: a sentence, never a traceback
        st.error(md_text(exc))
        st.stop()
    if demo:
        st.caption(t("示范数据库:可用 demo_admin / demo-admin-2026 等示范账号登录(见 README)。"))
    elif not users:
        st.info(t("尚无用户:设置 GRIDMAP_ADMIN_PASSWORD 后重启,或运行 `gridmap user add`。"))
    if st.session_state.pop("clear_cookie", False):  # last on the page: nothing moves
        _browser_post("/_gridmap/logout", {})
    st.stop()
    raise RuntimeError("unreachable")  # st.stop() ends the script run


def fragment(func: Callable[[], None]) -> Callable[[], None]:
    """``st.fragment`` for a part of a page whose widgets rerun that part only, acting as the
    logged-in user on every rerun.

    A fragment's rerun runs none of the page above it — not the login gate, which makes the
    user the acting principal (:func:`gridmap.auth.current_principal`, else the all-seeing
    ``SYSTEM``). So each run checks this tab's session again and acts as its user; a session
    ended meanwhile (logout, expiry, a changed password) reruns the whole page, which shows
    the login form.
    """

    @functools.wraps(func)
    def run() -> None:
        token = st.session_state.get("auth_token")
        try:
            found = auth.session_principal(engine(), token) if token else None
        except auth.SessionExpired:
            found = None
        if found is None:
            st.rerun()  # the whole page: the login gate
        auth.set_current(found)
        func()

    return st.fragment(run)


def t(message: str, /, *, context: str | None = None, **fields: object) -> str:
    """``message`` (the Chinese text, an id of the catalogue :mod:`gridmap.i18n`) in the
    language the user chose in the sidebar, its ``{fields}`` filled in."""
    return text(message, session_language(), context=context, **fields)


def in_language(names: tuple[str, str]) -> str:
    """The half of a ``(中文, English)`` pair (:func:`gridmap.i18n.pair`) the user reads."""
    return names[0] if session_language() == "zh" else names[1]


def session_language() -> Language:
    """The language the user chose in the sidebar (Chinese unless English)."""
    return "en" if st.session_state.get("lang") == "English" else "zh"


def unit(zh_unit: str) -> str:
    """What follows a figure counted in ``zh_unit`` in the user's language (:func:`labels.unit`)."""
    return labels_unit(zh_unit, "en" if st.session_state.get("lang") == "English" else "zh")


def page_title(script: str) -> str:
    """The browser tab's title of the page ``script`` (its ``__file__``) in the user's language."""
    name = Path(script).name
    for path, zh_title, en_title in PAGES:
        if Path(path).name == name:
            return f"{in_language((zh_title, en_title))} · gridmap"
    return "gridmap"


def personal_data() -> bool:
    """Names, phones and ID suffixes in clear: the role allows it and the user asked for it."""
    return principal().personal_data and bool(st.session_state.get("show_personal"))


#: What a page the role may not open says (Chinese, English), from the router or the page.
REFUSED_PAGE = pair("您的角色无权查看此页面。")


def role_tabs(tabs: dict[str, str | None]) -> dict[str, object]:
    """The tabs the user's role may use: key → label, ``None`` for a tab the role does not get.

    Returns key → tab container for the tabs drawn; a key left out is not in the result, so
    ``result.get(key)`` is None for it and the page skips that tab's content.
    """
    shown = {key: name for key, name in tabs.items() if name is not None}
    return dict(zip(shown, st.tabs(list(shown.values())), strict=True))


def require(permission: str) -> None:
    """Stop the page with a clear message unless the logged-in user's role allows it."""
    if not principal().can(permission):
        zh = st.session_state.get("lang") != "English"
        st.error(REFUSED_PAGE[0] if zh else REFUSED_PAGE[1])
        st.stop()


#: The app's pages: (script, Chinese title, English title), in the order of the sidebar. A page's
#: key (its file name, ``overview`` for the first) names it in :data:`gridmap.auth.ROLE_PAGES`.
#: Streamlit's own page list is hidden (``position="hidden"``) so that titles can be Chinese and
#: follow the language toggle. No icons: Streamlit fetches Material icons from a public CDN,
#: which an intranet cannot reach.
PAGES: list[tuple[str, str, str]] = [
    ("views/overview.py", *pair("总览")),
    ("views/coverage.py", *pair("覆盖情况")),
    ("views/redraw.py", *pair("网格调整")),
    ("views/density.py", *pair("党员分布")),
    ("views/hotspots.py", *pair("诉求热点")),
    ("views/requests.py", *pair("诉求办理")),
    ("views/organisation.py", *pair("组织与人员")),
    ("views/planning.py", *pair("规划分析")),
    ("views/communities.py", *pair("社区概况")),
    ("views/data_io.py", *pair("数据导入导出")),
    ("views/new_street.py", *pair("新建街道")),
    ("views/audit.py", *pair("操作日志")),
]


def page_key(script: str) -> str:
    """A page's key in :data:`gridmap.auth.ROLE_PAGES`: its file name without ``.py``."""
    return Path(script).stem


def _opened_at_root() -> bool:
    """Whether the browser asked for the app's bare address (no page named in the path)."""
    try:
        url = st.context.url
    except Exception:  # no browser (AppTest, a bare script run)
        return False
    if not isinstance(url, str):
        return False
    from urllib.parse import urlsplit

    return urlsplit(url).path.rstrip("/") == ""


def route() -> None:
    """The app's entry point (``app.py``): every page registered with ``st.navigation`` (so
    its address works before the login and after it), the login form until someone logs in,
    then the page asked for — or, for a page outside the role's list
    (:data:`gridmap.auth.ROLE_PAGES`), one sentence and the link to the overview. Each page
    draws the sidebar (:func:`sidebar`), which links the role's pages only."""
    _kept("lang", "中文")
    zh = st.session_state.get("lang") != "English"
    pages = [
        st.Page(script, title=zh_title if zh else en_title, url_path=page_key(script),
                default=i == 0)
        for i, (script, zh_title, en_title) in enumerate(PAGES)
    ]  # fmt: skip
    current = st.navigation(pages, position="hidden")
    st.session_state["page_now"] = page_key(current.url_path or PAGES[0][0])

    user = _login_gate()
    home = auth.ROLE_PAGES.get(user.role, ("overview",))[0]
    if not st.session_state.get("landed"):
        st.session_state["landed"] = True
        if _opened_at_root() and home != page_key(PAGES[0][0]):
            # the app's bare address opens the role's own first page (诉求办理 for a grid worker)
            st.switch_page(next(script for script, _, _ in PAGES if page_key(script) == home))
    if not user.may_open(page_key(current.url_path or PAGES[0][0])):
        sidebar()  # the pages the role may open
        st.error(REFUSED_PAGE[0] if zh else REFUSED_PAGE[1])
        st.page_link(PAGES[0][0], label=t("返回总览"))
        st.stop()
    current.run()


#: The sidebar's settings, kept across pages (a widget's own state is dropped when another page
#: runs without it): session key of the widget → key of the kept value.
KEPT_SETTINGS: dict[str, str] = {
    "lang": "kept_lang",
    "basemap": "kept_basemap",
    "show_personal": "kept_show_personal",
    "community": "kept_community",
    "radius": "kept_radius",
}

#: The community picker's choice of the whole street.
WHOLE_STREET = "__all__"


def relabel(widget_key: str, options: Sequence[object], multiple: bool = False) -> None:
    """Before a radio, select box or multiselect whose labels change (the other language, a
    count in a label): keep its choice.

    Streamlit keeps a choice by its label, so a changed label loses it — the widget shows the
    old language's chips, the page gets the old label as its value. Read here (through the last
    run's labels) and given back (through this run's), the choice is an option again and shows
    in the labels of now; a choice no longer among ``options`` is dropped (the widget's own
    default then applies).
    """
    if widget_key not in st.session_state:
        return
    value = st.session_state[widget_key]
    if multiple:
        st.session_state[widget_key] = [v for v in value if v in options]
    elif value in options:
        st.session_state[widget_key] = value
    else:
        del st.session_state[widget_key]


def _kept(widget_key: str, default: object) -> None:
    """Give the sidebar widget ``widget_key`` the value kept from the last page, or from the
    login's earlier browser sessions (a reload: :meth:`gridmap.auth.SessionStore.kept`), before
    it is drawn; :func:`_keep` stores a change."""
    kept = KEPT_SETTINGS[widget_key]
    if kept not in st.session_state:
        stored = auth.SESSIONS.kept(_session_token()[0])
        st.session_state[kept] = stored.get(widget_key, st.session_state.get(widget_key, default))
    st.session_state[widget_key] = st.session_state[kept]


def _remember(widget_key: str, value: object) -> None:
    """Keep ``value`` of setting ``widget_key`` for this tab's pages and the login's reloads."""
    st.session_state[KEPT_SETTINGS[widget_key]] = value
    auth.SESSIONS.keep(_session_token()[0], widget_key, value)


def _keep(widget_key: str) -> None:
    _remember(widget_key, st.session_state[widget_key])


def _keep_all(token: str) -> None:
    """Hand the settings chosen before the login (language …) to the new login's session."""
    for widget_key, kept in KEPT_SETTINGS.items():
        if kept in st.session_state:
            auth.SESSIONS.keep(token, widget_key, st.session_state[kept])


def from_link(
    param: str, widget_key: str, options: list, parse: type = str, keep: bool = False
) -> object | None:
    """A deep link's choice (``?param=VALUE``) given to widget ``widget_key`` once, when the
    address carries one of ``options`` (``parse`` turns the text into an option); with
    ``keep``, also kept as the setting of that name (:data:`KEPT_SETTINGS`). The value
    given, else None."""
    wanted = st.query_params.get(param)
    seen_key = f"linked_{param}"
    if wanted is None or st.session_state.get(seen_key) == wanted:
        return None
    st.session_state[seen_key] = wanted
    try:
        value = parse(wanted)
    except ValueError:
        return None
    if value not in options:
        return None
    if keep:
        _remember(widget_key, value)
    st.session_state[widget_key] = value
    return value


def to_link(param: str, value: object, default: object = None) -> None:
    """Write the choice into the address (``?param=VALUE``, so that the page's address, a
    reload or a link sent on, brings it back); dropped when it is ``default``."""
    st.session_state[f"linked_{param}"] = str(value) if value != default else None
    if value is None or value == default:
        st.query_params.pop(param, None)
    else:
        st.query_params[param] = str(value)


def map_view(layers: StreetLayers, community: str | None) -> Bounds | None:
    """Where a page's map opens: the grid a link names (``?grid=CODE``, see
    :func:`gridmap.maps.grid_bounds`), else the chosen community, else the street (None)."""
    code = st.query_params.get("grid")
    framed = grid_bounds(layers, code, community) if code else None
    return framed or community_bounds(layers, community)


def community_picker(
    container: object, communities: pd.DataFrame, zh: bool, whole_street: bool = True
) -> str | None:
    """The community select box every page shares: one choice, kept from page to page and in
    the address (``?community=CODE``, a link that opens the page on that community).

    Parameters
    ----------
    container
        Where to draw it (``st`` or a column).
    communities : DataFrame
        ``code, name`` of the communities the user may choose (already cut to the scope).
    whole_street : bool
        Offer 全街道 (returned as None); without it the first community stands in for it.

    Returns
    -------
    str or None
        The chosen community's code, None for the whole street.
    """
    names = dict(zip(communities["code"], communities["name"], strict=True))
    options = [WHOLE_STREET, *names] if whole_street else list(names)
    if not options:
        return None
    from_link("community", "community", options, keep=True)
    _kept("community", options[0])
    if st.session_state["community"] not in options:
        st.session_state["community"] = options[0]
    code = container.selectbox(
        t("社区"),
        options,
        format_func=lambda c: text("全街道", language(zh)) if c == WHOLE_STREET else names[c],
        key="community",
        on_change=_keep,
        args=("community",),
    )
    to_link("community", code, options[0] if not whole_street else WHOLE_STREET)
    return None if code == WHOLE_STREET else code


def radius_picker(container: object, zh: bool) -> int:
    """The service radius every page shares (300/500/1000 m life circles), kept from page to
    page; the street's norm (:data:`gridmap.settings.SERVICE_REACH_M`) until changed."""
    circles = {metres: minutes for minutes, metres in settings.LIFE_CIRCLE_M.items()}
    _kept("radius", settings.SERVICE_REACH_M)
    if st.session_state["radius"] not in circles:
        st.session_state["radius"] = settings.SERVICE_REACH_M
    return container.radio(
        t("服务半径"),
        list(circles),
        format_func=lambda m: text(
            "{m} 米({circles}分钟生活圈)", language(zh), m=m, circles=circles[m]
        ),
        key="radius",
        on_change=_keep,
        args=("radius",),
    )


def weights_form(
    kind: str, current: dict[str, float], names: dict[str, tuple[str, str]], zh: bool
) -> None:
    """For a street administrator: a form to set the street's weights of ``kind``
    (:func:`gridmap.weights.set_street_weights`, audited) or go back to the defaults; every
    other role is told who sets them. The page reruns with the new weights."""
    from gridmap.weights import reset_street_weights, set_street_weights

    if not principal().can("manage_street"):
        st.caption(t("权重由街道管理员在此设置,全街道统一使用。"))
        return
    if message := st.session_state.pop(f"weights_saved_{kind}", None):
        st.success(message)
    with st.form(f"weights_{kind}"):
        st.markdown(t("**设置本街道的权重(分)**"))
        columns = st.columns(3)
        chosen = {
            part: columns[k % 3].number_input(
                names[part][0 if zh else 1],
                min_value=0.0,
                max_value=100.0,
                value=float(value),
                step=1.0,
                key=f"weight_{kind}_{part}",
            )
            for k, (part, value) in enumerate(current.items())
        }
        save, reset = st.columns(2)
        saved = save.form_submit_button(t("保存"), type="primary")
        restored = reset.form_submit_button(t("恢复默认"))
    try:
        if saved:
            set_street_weights(engine(), kind, chosen)
        elif restored:
            reset_street_weights(engine(), kind)
            for part in current:
                st.session_state.pop(f"weight_{kind}_{part}", None)
        else:
            return
    except GridmapError as exc:
        st.error(md_text(exc))
        return
    st.session_state[f"weights_saved_{kind}"] = t("已保存本街道的权重,得分已按新权重重算。")
    st.rerun()


#: The browser-tab icon, a local file (emoji and Material icons would be fetched from a CDN).
ICON = Path(__file__).parent / "static" / "gridmap-icon.png"


def sidebar() -> tuple[Language, str]:
    """The common sidebar: the logged-in user, the role's page links, language, base map,
    refresh. Language, base map and the full-name switch stay as set from page to page
    (:data:`KEPT_SETTINGS`).

    Returns
    -------
    (language, base map)
    """
    _kept("lang", "中文")
    user = _login_gate()
    with st.sidebar:
        lang: Language = "en" if st.session_state.get("lang") == "English" else "zh"
        st.text(user.label(lang))  # plain text: a name is never rendered as HTML or markdown
        # the callback runs before the next script run: nothing of this session survives it
        st.button(t("退出登录"), key="logout", on_click=log_out)
        if user.personal_data:
            _kept("show_personal", False)
            st.toggle(
                t("显示完整姓名和电话"),
                key="show_personal",
                on_change=_keep,
                args=("show_personal",),
                help=t("默认脱敏显示(张*明、138****1234)。"),
            )
        shown = {page_key(script): (script, zh, en) for script, zh, en in PAGES}
        for key in auth.ROLE_PAGES.get(user.role, ()):
            script, zh_title, en_title = shown[key]
            st.page_link(script, label=zh_title if lang == "zh" else en_title)
        st.divider()
        lang_name = st.radio(
            "语言 / Language",
            ["中文", "English"],
            horizontal=True,
            key="lang",
            on_change=_keep,
            args=("lang",),
        )
        lang = "zh" if lang_name == "中文" else "en"
        options = list(settings.BASEMAPS)
        if not settings.TIANDITU_KEY:
            options.remove("tianditu")
        _kept("basemap", settings.DEFAULT_BASEMAP)
        if st.session_state["basemap"] not in options:
            st.session_state["basemap"] = options[0]
        basemap = st.selectbox(
            t("底图"),
            options,
            format_func=lambda key: label(f"basemap_{key}", lang),
            key="basemap",
            on_change=_keep,
            args=("basemap",),
            help=t("无底图时完全离线可用;天地图需设置 GRIDMAP_TIANDITU_KEY。"),
        )
        if st.button(t("刷新数据")):
            st.cache_data.clear()
        st.caption(md_text(database_url()))
        page = st.session_state.get("page_now")
        if page is not None and page != st.session_state.get("page_before"):
            st.session_state["page_before"] = page
            _fold_sidebar_on_phone()
        if code := st.session_state.pop("cookie_code", None):
            # the login's cookie (reloads stay logged in); drawn last, so that no element of
            # the page moves when it is gone on the next run
            _browser_post("/_gridmap/session", {"code": code})
    return lang, basemap
