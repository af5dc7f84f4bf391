"""The data map: systems -> data assets -> processing activities -> recipients -> third
countries, drawn server-side as one SVG in layers, special-category flows highlighted.

Layout: one column per layer; within a column, nodes are ordered by the mean position of
their neighbours in the column before (and then after), a few sweeps of the barycentre
heuristic, which keeps most edges from crossing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

from django.db.models import Prefetch
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.inventory.gdpr import EEA_COUNTRIES, CategoryKind
from apps.inventory.models import DataAsset, ProcessingActivity, Transfer

LAYERS = (
    gettext_lazy("System"),
    gettext_lazy("Data asset"),
    gettext_lazy("Processing activity"),
    gettext_lazy("Recipient"),
    gettext_lazy("Third country / org."),
)
COL_W, NODE_W, NODE_H, GAP, TOP, LEFT = 250, 190, 30, 10, 46, 16
SPECIAL = "#7a2fb3"
NORMAL = "#8a94a6"
OUTSIDE = "#b3261e"
MAX_NODES = 2500


@dataclass
class Node:
    key: str
    layer: int
    label: str
    sub: str = ""
    special: bool = False
    outside_eea: bool = False
    y: float = 0.0
    href: str = ""


@dataclass
class DataMap:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: set[tuple[str, str, bool, str]] = field(default_factory=set)
    omitted: int = 0

    def add(self, node: Node) -> Node:
        existing = self.nodes.get(node.key)
        if existing is None:
            self.nodes[node.key] = node
            return node
        existing.special = existing.special or node.special
        return existing

    def link(self, a: str, b: str, *, special: bool, label: str = "") -> None:
        self.edges.add((a, b, special, label))


def data_map_build(*, activity_id: int | None = None, special_only: bool = False) -> DataMap:
    """Nodes and edges for the active processing activities (or one of them)."""
    activities = ProcessingActivity.objects.filter(is_active=True).order_by("name")
    if activity_id is not None:
        activities = activities.filter(pk=activity_id)
    activities = activities.prefetch_related(
        "data_categories",
        "recipients",
        Prefetch("transfers", queryset=Transfer.objects.select_related("recipient")),
        # The map shows what is processed now: archived assets are left out.
        Prefetch("assets", queryset=DataAsset.objects.current().select_related("system")),
    )
    dm = DataMap()
    for pa in activities:
        assets = list(pa.assets.all())
        special = any(a.is_special for a in assets) or any(
            c.kind != CategoryKind.ORDINARY for c in pa.data_categories.all()
        )
        if special_only and not special:
            continue
        act = dm.add(
            Node(
                f"pa:{pa.pk}",
                2,
                pa.name,
                pa.reference or pa.get_role_display(),
                special=special,
                href=f"?activity={pa.pk}",
            )
        )
        for asset in assets:
            system = asset.system
            country = system.hosting_country.code if system.hosting_country else ""
            dm.add(
                Node(
                    f"sys:{system.pk}",
                    0,
                    system.name,
                    ", ".join(p for p in (system.hosting_location, country) if p),
                    outside_eea=bool(country) and country not in EEA_COUNTRIES,
                )
            )
            dm.add(
                Node(
                    f"asset:{asset.pk}",
                    1,
                    asset.name,
                    "special category" if asset.is_special else asset.get_sensitivity_display(),
                    special=asset.is_special,
                )
            )
            dm.link(f"sys:{system.pk}", f"asset:{asset.pk}", special=asset.is_special)
            dm.link(f"asset:{asset.pk}", act.key, special=asset.is_special)
        for r in pa.recipients.all():
            country = r.country.code if r.country else ""
            outside = r.is_international_organisation or (
                bool(country) and country not in EEA_COUNTRIES
            )
            dm.add(
                Node(
                    f"rcp:{r.pk}",
                    3,
                    r.name,
                    ", ".join(p for p in (r.get_kind_display(), country) if p),
                    outside_eea=outside,
                )
            )
            dm.link(act.key, f"rcp:{r.pk}", special=special)
        for t in pa.transfers.all():
            where = t.international_organisation or (t.country.code if t.country else "?")
            name = t.international_organisation or (t.country.name if t.country else "unknown")
            kind = (
                "international organisation"
                if t.international_organisation
                else "third country"
                if t.outside_eea
                else "EEA country"
            )
            dest = dm.add(Node(f"dest:{where}", 4, name, kind, outside_eea=t.outside_eea))
            mechanism = t.get_mechanism_display() if t.mechanism else "no safeguard recorded"
            via = t.recipient
            if via is not None:
                dm.add(Node(f"rcp:{via.pk}", 3, via.name, via.get_kind_display(), outside_eea=True))
                dm.link(act.key, f"rcp:{via.pk}", special=special)
                dm.link(f"rcp:{via.pk}", dest.key, special=special, label=mechanism)
            else:
                dm.link(act.key, dest.key, special=special, label=mechanism)
    return dm


def _layout(dm: DataMap) -> dict[int, list[Node]]:
    columns: dict[int, list[Node]] = {i: [] for i in range(len(LAYERS))}
    for node in sorted(dm.nodes.values(), key=lambda n: (n.layer, n.label.lower())):
        columns[node.layer].append(node)
    neighbours: dict[str, list[str]] = {k: [] for k in dm.nodes}
    for a, b, _special, _label in dm.edges:
        neighbours[a].append(b)
        neighbours[b].append(a)

    def place(column: list[Node]) -> None:
        for i, node in enumerate(column):
            node.y = TOP + i * (NODE_H + GAP)

    for column in columns.values():
        place(column)
    order = list(range(1, len(LAYERS))) + list(range(len(LAYERS) - 2, -1, -1))
    for _sweep in range(2):
        for layer in order:
            column = columns[layer]

            def centre(node: Node) -> float:
                ys = [dm.nodes[k].y for k in neighbours[node.key]]
                return sum(ys) / len(ys) if ys else node.y

            column.sort(key=centre)
            place(column)
    return columns


def _esc(value: object) -> str:
    return escape(str(value), quote=True)


def _short(text: str, n: int = 30) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def data_map_svg(dm: DataMap, *, title: str = "") -> SafeString:
    """The map as one standalone SVG document (also what the download contains)."""
    title = title or _("Data map")
    if len(dm.nodes) > MAX_NODES:
        text = _("The map has %(n)d nodes: too many to draw. Filter by processing activity.") % {
            "n": len(dm.nodes)
        }
        body = f'<text x="16" y="30">{_esc(text)}</text>'
        return mark_safe(  # noqa: S308 - escaped text
            '<svg xmlns="http://www.w3.org/2000/svg" width="800" height="60">' + body + "</svg>"
        )
    columns = _layout(dm)
    tallest = max((len(c) for c in columns.values()), default=0)
    width = LEFT + COL_W * (len(LAYERS) - 1) + NODE_W + 16
    height = TOP + max(1, tallest) * (NODE_H + GAP) + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="system-ui, sans-serif" font-size="11" '
        f'role="img" aria-label="{_esc(title)}"><title>{_esc(title)}</title>',
        '<rect width="100%" height="100%" fill="#ffffff"/>',
    ]
    for i, name in enumerate(LAYERS):
        parts.append(
            f'<text x="{LEFT + i * COL_W}" y="24" font-weight="700" fill="#1d2433">'
            f"{_esc(name)}</text>"
        )
    # Edges first, ordinary before special, so highlighted flows are drawn on top.
    for a, b, special, label in sorted(dm.edges, key=lambda e: (e[2], e[0], e[1])):
        na, nb = dm.nodes[a], dm.nodes[b]
        x1 = LEFT + na.layer * COL_W + NODE_W
        x2 = LEFT + nb.layer * COL_W
        y1, y2 = na.y + NODE_H / 2, nb.y + NODE_H / 2
        mid = (x1 + x2) / 2
        color = SPECIAL if special else NORMAL
        width_px = 2.2 if special else 1.1
        cls = "edge special" if special else "edge"
        tip = f"{na.label} → {nb.label}" + (f" ({label})" if label else "")
        parts.append(
            f'<path class="{cls}" d="M{x1},{y1:.1f} C{mid},{y1:.1f} {mid},{y2:.1f} {x2},{y2:.1f}" '
            f'fill="none" stroke="{color}" stroke-width="{width_px}" opacity="0.8">'
            f"<title>{_esc(tip)}</title></path>"
        )
    for column in columns.values():
        for node in column:
            x = LEFT + node.layer * COL_W
            stroke = SPECIAL if node.special else OUTSIDE if node.outside_eea else "#b9c1cf"
            fill = "#f3e6fb" if node.special else "#fbe4e2" if node.outside_eea else "#f6f7fb"
            cls = "node special" if node.special else "node"
            flags = []
            if node.special:
                flags.append(_("special-category data"))
            if node.outside_eea:
                flags.append(_("outside the EEA"))
            tip = (
                node.label
                + (f" ({node.sub})" if node.sub else "")
                + (" – " + ", ".join(flags) if flags else "")
            )
            box = (
                f'<g class="{cls}" data-key="{_esc(node.key)}"><title>{_esc(tip)}</title>'
                f'<rect x="{x}" y="{node.y:.1f}" width="{NODE_W}" height="{NODE_H}" rx="4" '
                f'fill="{fill}" stroke="{stroke}" stroke-width="{2 if node.special else 1}"/>'
                f'<text x="{x + 6}" y="{node.y + 13:.1f}" fill="#1d2433">{_esc(_short(node.label))}</text>'
                f'<text x="{x + 6}" y="{node.y + 25:.1f}" fill="#5b6475" font-size="9">'
                f"{_esc(_short(node.sub, 36))}</text></g>"
            )
            if node.href:
                box = f'<a href="{_esc(node.href)}">{box}</a>'
            parts.append(box)
    legend_y = height - 14
    parts.append(
        f'<g font-size="10"><rect x="{LEFT}" y="{legend_y - 9}" width="12" height="10" '
        f'fill="#f3e6fb" stroke="{SPECIAL}" stroke-width="2"/><text x="{LEFT + 16}" y="{legend_y}">'
        "special-category (Art. 9/10) data and its flows</text>"
        f'<rect x="{LEFT + 260}" y="{legend_y - 9}" width="12" height="10" fill="#fbe4e2" '
        f'stroke="{OUTSIDE}"/><text x="{LEFT + 276}" y="{legend_y}">outside the EEA</text></g>'
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text is escaped with _esc
