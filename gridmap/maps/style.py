"""Layer styles and legends: colours and strokes of each layer, and the legend in the corner.

:class:`LayerStyle` holds how one layer is drawn; :data:`STYLES` are the street's own layers and
:data:`MUTED_STYLES` the same layers drawn quietly under a thematic map. :class:`Legend` is a
fixed legend with escaped text; :func:`legend_entry` and :func:`legend_for` build its swatches.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from branca.element import MacroElement, Template

from gridmap.i18n import text
from gridmap.labels import Language, label


@dataclass(frozen=True)
class LayerStyle:
    """How one layer is drawn, and how it appears in the legend."""

    key: str
    colour: str
    fill_opacity: float
    weight: float
    dash: str | None = None

    def style(self, _feature: dict | None = None) -> dict:
        """The Leaflet path options of this layer."""
        return {
            "color": self.colour,
            "weight": self.weight,
            "fillColor": self.colour,
            "fillOpacity": self.fill_opacity,
            "dashArray": self.dash,
        }


STYLES: dict[str, LayerStyle] = {
    "street": LayerStyle("street", "#7a0c0c", 0.0, 3.0),
    "community": LayerStyle("community", "#c8161d", 0.04, 2.5),
    "grid": LayerStyle("grid", "#1f6fb2", 0.08, 1.2, dash="4 3"),
    "building": LayerStyle("building", "#6b6b6b", 0.55, 0.6),
    "service_station": LayerStyle("service_station", "#e08a00", 0.9, 1.5),
}

LEGEND_TEMPLATE = """
{% macro header(this, kwargs) %}
<style>
.gridmap-legend { position:absolute; z-index:9999; bottom:44px; left:12px; max-width:45%;
  max-height:calc(100% - 130px); overflow:auto; background:rgba(255,255,255,.92);
  padding:6px 10px; border:1px solid #999; border-radius:4px;
  font:13px/1.5 'Noto Sans CJK SC','Microsoft YaHei',sans-serif; }
.gridmap-legend > summary { font-weight:600; cursor:pointer; }
.gridmap-legend:not([open]) { padding:4px 8px; }
.gridmap-legend .swatch { display:inline-block; width:14px; height:14px; margin-right:6px;
  vertical-align:middle; border:2px solid; }
</style>
{% endmacro %}
{% macro html(this, kwargs) %}
<details class="gridmap-legend" open>
  <summary>{{ this.title }}</summary>
  {% for colour, fill, text, round in this.entries %}
  <div><span class="swatch" style="border-color:{{ colour }}; background:{{ fill }};
    {% if round %}border-radius:50%;{% endif %}"></span>{{ text }}</div>
  {% endfor %}
</details>
{% endmacro %}
{% macro script(this, kwargs) %}
(function () {
    // folded on a phone: a click on its title opens it (streamlit-folium may put the legend
    // on the page after this script has run: look for it a few times)
    var width = window.screen ? window.screen.width : 1000;
    try { width = Math.min(width, window.top.innerWidth || width); } catch (e) {}
    if (width >= 600) return;
    var tries = 0;
    (function fold() {
        var legends = document.querySelectorAll('details.gridmap-legend');
        legends.forEach(function (legend) { legend.open = false; });
        if (!legends.length && tries++ < 50) { setTimeout(fold, 100); }
    })();
})();
{% endmacro %}
"""


#: The street's layers drawn quietly under the problems.
MUTED_STYLES: dict[str, LayerStyle] = {
    "community": LayerStyle("community", "#7a0c0c", 0.0, 2.0),
    "grid": LayerStyle("grid", "#5b7fa6", 0.0, 1.0, dash="4 3"),
    "building": LayerStyle("building", "#9a9a9a", 0.35, 0.4),
}


class Legend(MacroElement):
    """A legend in the map's lower left corner: one swatch per layer, text escaped; it folds
    to its title on a click (and starts folded on a phone), and scrolls rather than cover the
    map when it is long."""

    def __init__(self, title: str, entries: Sequence[tuple[str, str, str, bool]]) -> None:
        super().__init__()
        self._name = "Legend"
        self.title = html.escape(title)
        self.entries = [(c, f, html.escape(t), r) for c, f, t, r in entries]
        self._template = Template(LEGEND_TEMPLATE)


def legend_entry(
    style: LayerStyle, caption: str, round_: bool = False
) -> tuple[str, str, str, bool]:
    """One legend swatch drawn like the layer: (outline colour, fill, text, round)."""
    fill = style.colour if style.fill_opacity > 0.3 else "transparent"
    return (style.colour, fill, caption, round_)


def legend_for(
    keys: Sequence[str],
    lang: Language = "zh",
    extra: Sequence[tuple[str, str, str, bool]] = (),
) -> Legend:
    """The legend of the given base layers, in their drawing colours, plus ``extra`` entries."""
    entries = [legend_entry(STYLES[k], label(k, lang), k == "service_station") for k in keys]
    return Legend(text("图例", lang), [*entries, *extra])
