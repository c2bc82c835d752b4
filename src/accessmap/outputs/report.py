"""A self-contained HTML report a regional health planner can forward as is.

One file, no external resources: the maps and the siting curve are PNG images embedded as
base64 ``data:`` URIs, the styles are inline. Sections:

1. headline figures (share of the population beyond the target time, by département);
2. maps (time to the nearest GP, APL, EPCI need rank) with the proposed sites;
3. the EPCI ranking (the ``top_n`` most in need);
4. the siting of new centres: the curve of people newly covered against the number of new
   centres, and the site list;
5. agreement with the official priority list, when one was given;
6. methods and data: sources with licences and attribution, engine, speeds, thresholds,
   and the assumptions that matter.

Figures are recomputed from the ``communes`` layer (population-weighted), so the report
agrees with the GeoPackage it was built from.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from accessmap.errors import ConfigError
from accessmap.outputs.atomic import atomic_file
from accessmap.outputs.atomic import check_target as _check_target
from accessmap.outputs.maps import (
    _layer,
    attribution_text,
    departement_outlines,
    plot_map,
    uses_road_network,
)
from accessmap.outputs.styles import SITE_COLOUR, TIME_CLASSES
from accessmap.scoring import DEFAULT_CRITERIA

logger = logging.getLogger(__name__)

__all__ = ["build_report", "departement_table", "priority_agreement", "write_report"]

_CSS = """
body{font-family:"DejaVu Sans",Arial,sans-serif;max-width:1100px;margin:24px auto;
color:#222;line-height:1.45;padding:0 16px}
h1{font-size:26px;margin-bottom:4px}h2{font-size:20px;border-bottom:2px solid #1a9850;
padding-bottom:3px;margin-top:34px}h3{font-size:16px}
.sub{color:#555;margin-top:0}.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{flex:1 1 180px;background:#f4f7f4;border-left:5px solid #1a9850;padding:10px 14px}
.card.alert{border-left-color:#f46d43;background:#fdf3ee}
.card .v{font-size:26px;font-weight:bold}.card .l{font-size:13px;color:#444}
table{border-collapse:collapse;width:100%;font-size:13px;margin:8px 0}
th,td{border-bottom:1px solid #ddd;padding:4px 6px;text-align:right}
th{background:#eef2ee}td.t,th.t{text-align:left}tr.hl td{background:#fff4d6}
img{max-width:100%;border:1px solid #ccc}.note{font-size:12.5px;color:#555}
.bar{display:inline-block;height:10px;background:#f46d43;vertical-align:middle}
footer{margin-top:40px;font-size:12px;color:#555;border-top:1px solid #ccc;padding-top:8px}
@media print{h2{page-break-before:auto}img{page-break-inside:avoid}}
"""


def _e(x: Any) -> str:
    return html.escape(str(x))


def _pct(x: float) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{100 * x:.1f} %"


def _num(x: float, digits: int = 0) -> str:
    if x is None or not np.isfinite(float(x)):
        return "–"
    return f"{float(x):,.{digits}f}".replace(",", " ")


def _png(fig: Figure, *, dpi: int) -> str:
    buf = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def departement_table(communes: pd.DataFrame, *, threshold_min: float = 15.0) -> pd.DataFrame:
    """Population-weighted access figures by département, plus a region total row.

    Columns: ``dep, dep_nom, pop, pop_beyond, share_beyond, mean_time_min,
    share_apl_below_2_5`` (APL column only when ``apl`` is present). Communes with an
    unknown time count as beyond the target (assumption: unreachable = not covered).

    Examples
    --------
    >>> t = departement_table(communes)  # doctest: +SKIP
    """
    c = pd.DataFrame(communes.drop(columns="geometry", errors="ignore"))
    t = c["time_gp_min"].astype(float)
    pop = c["pop"].astype(float)
    c = c.assign(
        _beyond=np.where(~(t <= threshold_min), pop, 0.0),
        _pt=np.where(t.notna(), t * pop, 0.0),
        _pk=np.where(t.notna(), pop, 0.0),
    )
    has_apl = "apl" in c.columns
    if has_apl:
        c["_low"] = np.where(c["apl"].astype(float) < 2.5, pop, 0.0)
    if "dep_nom" not in c.columns:
        c["dep_nom"] = ""
    g = c.groupby(["dep", "dep_nom"], as_index=False).sum(numeric_only=True)
    g.loc[len(g)] = {**g.sum(numeric_only=True).to_dict(), "dep": "", "dep_nom": "Total"}
    out = pd.DataFrame(
        {
            "dep": g["dep"],
            "dep_nom": g["dep_nom"],
            "pop": g["pop"],
            "pop_beyond": g["_beyond"],
            "share_beyond": g["_beyond"] / g["pop"].where(g["pop"] > 0),
            "mean_time_min": g["_pt"] / g["_pk"].where(g["_pk"] > 0),
        }
    )
    if has_apl:
        out["share_apl_below_2_5"] = g["_low"] / g["pop"].where(g["pop"] > 0)
    return out


def priority_agreement(
    epci_scores: pd.DataFrame, official: Iterable[str], *, top_n: int | None = None
) -> dict[str, Any]:
    """Compare our need ranking with an official list of priority EPCI.

    Parameters
    ----------
    epci_scores : DataFrame
        Needs ``epci_siren`` and ``need_rank`` (1 = most in need).
    official : iterable of str
        SIREN codes of the official priority EPCI.
    top_n : int, optional
        Size of our list compared with it; default the size of the official list.

    Returns
    -------
    dict
        ``n_official, top_n, n_common, precision`` (share of our top list that is official),
        ``recall`` (share of the official list in our top list), ``jaccard``,
        ``median_rank_official``, ``missed`` (official EPCI outside our top list, with their
        rank) and ``unknown`` (official codes not in the results).

    Examples
    --------
    >>> scores = pd.DataFrame({"epci_siren": ["a", "b", "c", "d"], "need_rank": [1, 2, 3, 4]})
    >>> r = priority_agreement(scores, ["a", "c"])
    >>> r["n_common"], r["precision"], r["recall"]
    (1, 0.5, 0.5)
    """
    off = [str(x) for x in official]
    if not off:
        raise ConfigError("the official priority list is empty: give at least one EPCI SIREN")
    top_n = len(off) if top_n is None else int(top_n)
    if top_n < 1:
        raise ConfigError(f"top_n must be >= 1, got {top_n}")
    ranks = pd.Series(
        epci_scores["need_rank"].to_numpy(dtype=float), index=epci_scores["epci_siren"].astype(str)
    )
    known = [x for x in off if x in ranks.index]
    top = set(ranks[ranks <= top_n].index)
    common = top & set(known)
    union = top | set(off)
    return {
        "n_official": len(off),
        "top_n": top_n,
        "n_common": len(common),
        "precision": len(common) / max(len(top), 1),
        "recall": len(common) / len(off),
        "jaccard": len(common) / max(len(union), 1),
        "median_rank_official": float(np.median(ranks[known])) if known else float("nan"),
        "missed": sorted(
            ((x, float(ranks[x])) for x in known if x not in top), key=lambda kv: kv[1]
        ),
        "unknown": [x for x in off if x not in ranks.index],
    }


def _table(
    df: pd.DataFrame, columns: Sequence[tuple[str, str, Any]], *, highlight: pd.Series | None = None
) -> str:
    head = "".join(
        f'<th class="{"t" if fmt is None else ""}">{_e(label)}</th>' for _, label, fmt in columns
    )
    rows = []
    for i, (_, r) in enumerate(df.iterrows()):
        cells = []
        for col, _, fmt in columns:
            v = r.get(col)
            if fmt is None:
                cells.append(f'<td class="t">{_e("" if v is None else v)}</td>')
            else:
                cells.append(f"<td>{fmt(v)}</td>")
        cls = ' class="hl"' if highlight is not None and bool(highlight.iloc[i]) else ""
        rows.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _siting_curve_png(sites: pd.DataFrame, total_beyond: float) -> str:
    fig = Figure(figsize=(7.5, 3.6))
    ax = fig.add_subplot(1, 1, 1)
    k = np.concatenate([[0], sites["rank"].to_numpy(dtype=float)])
    cum = np.concatenate([[0], sites["cumulative_pop"].to_numpy(dtype=float)])
    ax.plot(k, cum, "-o", color=SITE_COLOUR, ms=4)
    ax.bar(
        sites["rank"],
        sites["gain_pop"],
        color="#c9a3e0",
        width=0.6,
        label="people newly covered by this centre",
    )
    ax.set_xlabel("number of new health centres (greedy order)")
    ax.set_ylabel("people newly within 15 min")
    ax.set_xticks(k)
    ax.grid(alpha=0.3)
    if total_beyond > 0:

        def to_pct(y: Any) -> Any:
            return 100 * np.asarray(y, dtype=float) / total_beyond

        def from_pct(p: Any) -> Any:
            return np.asarray(p, dtype=float) * total_beyond / 100

        ax2 = ax.secondary_yaxis("right", functions=(to_pct, from_pct))
        ax2.set_ylabel("% of people beyond 15 min")
    ax.plot([], [], "-o", color=SITE_COLOUR, label="cumulative")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    fig.tight_layout()
    return _png(fig, dpi=130)


def _sources_html(metadata: Mapping[str, Any], road: bool) -> str:
    items = []
    for s in metadata.get("sources") or []:
        if not isinstance(s, Mapping):
            items.append(f"<li>{_e(s)}</li>")
            continue
        name = s.get("title") or s.get("description") or s.get("name") or ""
        pub = s.get("publisher", "")
        lic = s.get("licence") or s.get("license") or ""
        att = s.get("attribution", "")
        items.append(
            f"<li><b>{_e(name)}</b>{' — ' + _e(pub) if pub else ''}"
            f"{'; licence: ' + _e(lic) if lic else ''}"
            f"{'; attribution: “' + _e(att) + '”' if att else ''}</li>"
        )
    if not items:
        items.append(
            "<li>Communes, EPCI and populations: IGN ADMIN EXPRESS, INSEE populations "
            "légales 2023 and census RP 2021 (Licence Ouverte / Etalab 2.0)</li>"
            "<li>GPs: INSEE, Base permanente des équipements 2019, type D201 "
            "(Licence Ouverte / Etalab 2.0)</li>"
        )
    if road:
        items.append("<li>Road network: © OpenStreetMap contributors, ODbL 1.0</li>")
    return "<ul>" + "".join(items) + "</ul>"


def _criteria_text(metadata: Mapping[str, Any]) -> str:
    """The need-score criteria and weights (run metadata, else scoring.DEFAULT_CRITERIA)."""
    crit = metadata.get("criteria")
    items: list[str] = []
    if isinstance(crit, list | tuple):
        for c in crit:
            if isinstance(c, Mapping):
                items.append(
                    f"{c.get('name', c.get('column', ''))} (weight {float(c.get('weight', 0)):.2f})"
                )
    if not items:
        total = sum(float(getattr(c, "weight", 0)) for c in DEFAULT_CRITERIA) or 1.0
        items = [
            f"{_e(c.column)} ({'lower' if c.direction == 'lower_is_worse' else 'higher'} = "
            f"more need, weight {float(c.weight) / total:.2f})"
            for c in DEFAULT_CRITERIA
        ]
    listed = "; ".join(items) if items else "see the scoring module"
    return (
        "A weighted composite of percentile ranks across EPCI: " + listed + ". This is a "
        "reconstruction, not the ARS method, whose criteria weights are not published; the "
        "weights are assumptions."
    )


def _params_html(metadata: Mapping[str, Any]) -> str:
    params = metadata.get("parameters") or metadata.get("params") or {}
    rows = "".join(
        f'<tr><td class="t">{_e(k)}</td><td class="t">{_e(v)}</td></tr>'
        for k, v in params.items()
        if v not in (None, "", [], ())
    )
    return f"<table style='width:auto'><tbody>{rows}</tbody></table>" if rows else ""


def build_report(
    layers: Mapping[str, pd.DataFrame],
    *,
    metadata: Mapping[str, Any] | None = None,
    official: Iterable[str] | None = None,
    top_n: int = 28,
    title: str | None = None,
    map_dpi: int = 110,
    include_maps: bool = True,
) -> str:
    """Build the report as one HTML string (images embedded).

    Parameters
    ----------
    layers : mapping of str to (Geo)DataFrame
        The layers of a score run (``communes``, ``epci_scores``, ``sites`` ...).
    metadata : mapping, optional
        Run metadata (sources, parameters, engine, version, date).
    official : iterable of str, optional
        Official priority EPCI (SIREN). When omitted, the ``official_priority`` column of
        ``epci_scores`` is used if any EPCI is flagged.
    top_n : int, default 28
        Rows of the EPCI ranking shown (28 = ARS Occitanie priority EPCI, 2025).
    title : str, optional
        Report title.
    map_dpi : int, default 110
        Resolution of the embedded maps (A4 figures; 110 dpi reads well on screen and keeps
        the file around 1-2 MB).
    include_maps : bool, default True
        Embed the three maps (the slowest part: about a second each).

    Returns
    -------
    str
    """
    metadata = dict(metadata or {})
    com = _layer(layers, "communes", ("insee", "dep", "pop", "time_gp_min"))
    ep = layers.get("epci_scores")
    sites = layers.get("sites")
    params = metadata.get("parameters") or metadata.get("params") or {}
    thr = float(params.get("threshold_min", params.get("target_min", 15.0)) or 15.0)
    road = uses_road_network(layers, metadata)
    deps = departement_table(com, threshold_min=thr)
    total = deps.iloc[-1]
    engines = metadata.get("engines") or [metadata.get("engine", "")]
    engines = [engines] if isinstance(engines, str) else list(engines)
    when = str(metadata.get("created") or metadata.get("written") or "")[:10] or (
        datetime.now(UTC).date().isoformat()
    )
    version = metadata.get("version") or metadata.get("accessmap_version") or ""
    area = str(metadata.get("area") or "Occitanie")
    title = title or f"Access to general practitioners — {area}"

    parts: list[str] = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f"<p class='sub'>Car travel time to the nearest general practitioner (GP), GP "
        f"accessibility (APL), intercommunalités in need and where new health centres would "
        f"help most. Run of {_e(when)}, accessmap {_e(version)}, travel times: "
        f"{_e(', '.join(str(e) for e in engines if e))}.</p>",
    ]

    # 1. headline ---------------------------------------------------------------------------
    n_sites = len(sites) if sites is not None else 0
    new_cov = float(sites["cumulative_pop"].max()) if sites is not None and n_sites else 0.0
    cards = [
        (
            _pct(total["share_beyond"]),
            f"of the population lives more than {thr:g} min by car "
            f"from a GP ({_num(total['pop_beyond'])} people)",
            True,
        ),
        (
            f"{total['mean_time_min']:.1f} min",
            "population-weighted mean time to the nearest GP",
            False,
        ),
    ]
    if "share_apl_below_2_5" in deps.columns:
        cards.append(
            (
                _pct(total["share_apl_below_2_5"]),
                "of the population has an APL below "
                "2.5 consultations a year (DREES under-served threshold)",
                True,
            )
        )
    if n_sites:
        cards.append(
            (
                _num(new_cov),
                f"people newly within {thr:g} min with {n_sites} new centres at the proposed sites",
                False,
            )
        )
    parts.append("<h2>1. Headline figures</h2><div class='cards'>")
    for v, label, alert in cards:
        parts.append(
            f"<div class='card{' alert' if alert else ''}'><div class='v'>{_e(v)}</div>"
            f"<div class='l'>{_e(label)}</div></div>"
        )
    parts.append("</div>")
    maxshare = float(deps["share_beyond"].iloc[:-1].max() or 0) or 1.0
    deps_show = deps.assign(
        _bar=deps["share_beyond"].map(
            lambda s: (
                f"<span class='bar' style='width:{int(120 * s / maxshare)}px'></span>"
                if np.isfinite(s)
                else ""
            )
        )
    )
    cols: list[tuple[str, str, Any]] = [
        ("dep", "Dép.", None),
        ("dep_nom", "Département", None),
        ("pop", "Population", _num),
        ("pop_beyond", f"Beyond {thr:g} min", _num),
        ("share_beyond", "Share beyond", _pct),
        ("_bar", "", lambda s: s),
        ("mean_time_min", "Mean time (min)", lambda x: _num(x, 1)),
    ]
    if "share_apl_below_2_5" in deps.columns:
        cols.append(("share_apl_below_2_5", "APL < 2.5", _pct))
    parts.append(f"<h3>By département: people more than {thr:g} minutes from a GP</h3>")
    parts.append(_table(deps_show, cols, highlight=deps["dep_nom"].eq("Total")))

    # 2. maps -------------------------------------------------------------------------------
    parts.append("<h2>2. Maps</h2>")
    if not include_maps:
        parts.append("<p class='note'>Maps omitted from this report.</p>")
    maps = [
        (
            "time",
            "Car time to the nearest GP. Green below the 15-minute goal, orange and "
            "red above it; stars are the proposed new centres (rank).",
        )
    ]
    if "apl" in com.columns:
        maps.append(
            (
                "apl",
                "APL (accessibilité potentielle localisée): GP consultations a "
                "year per standardised inhabitant; below 2.5 is under-served.",
            )
        )
    if ep is not None and "need_rank" in ep.columns and "geometry" in ep.columns:
        maps.append(
            ("need", "Intercommunalités (EPCI) ranked by need; the 28 most in need are in red.")
        )
    outlines = departement_outlines(com) if include_maps else None
    for ind, caption in maps if include_maps else []:
        fig = plot_map(layers, indicator=ind, metadata=metadata, outlines=outlines)
        parts.append(
            f"<figure><img alt='{_e(ind)} map' src='{_png(fig, dpi=map_dpi)}'>"
            f"<figcaption class='note'>{_e(caption)}</figcaption></figure>"
        )

    # 3. EPCI ranking -----------------------------------------------------------------------
    if ep is not None and "need_rank" in ep.columns:
        e = pd.DataFrame(ep.drop(columns="geometry", errors="ignore")).sort_values("need_rank")
        parts.append(f"<h2>3. Intercommunalités most in need (top {top_n} of {len(e)})</h2>")
        parts.append(
            "<p class='note'>Need score (0-100): a weighted composite of APL, the time to "
            f"emergency care, the share of people beyond {thr:g} min, the share aged 65+ "
            "and GP density (weights in Methods). Highlighted rows are on the official "
            "priority list.</p>"
        )
        ecols: list[tuple[str, str, Any]] = [
            ("need_rank", "Rank", lambda x: _num(x)),
            ("epci_nom", "EPCI", None),
            ("pop", "Population", _num),
            ("share_beyond_15", f"Beyond {thr:g} min", _pct),
            ("mean_time_min", "Mean time (min)", lambda x: _num(x, 1)),
            ("apl", "APL", lambda x: _num(x, 2)),
            ("share_65p", "Aged 65+", _pct),
            ("time_emergency_min", "Emergency (min)", lambda x: _num(x, 0)),
            ("need_score", "Need score", lambda x: _num(x, 2)),
        ]
        ecols = [c for c in ecols if c[0] in e.columns]
        top = e.head(top_n)
        hl = top["official_priority"].astype(bool) if "official_priority" in top.columns else None
        parts.append(_table(top, ecols, highlight=hl))

    # 4. siting -----------------------------------------------------------------------------
    if n_sites and sites is not None:
        s = pd.DataFrame(sites.drop(columns="geometry", errors="ignore")).sort_values("rank")
        if float(total["pop_beyond"]) > 0:
            s["share_of_beyond"] = s["cumulative_pop"].astype(float) / float(total["pop_beyond"])
        parts.append(f"<h2>4. Where {n_sites} new health centres would help most</h2>")
        parts.append(
            "<p class='note'>Greedy maximal covering location (Church &amp; ReVelle 1974): each "
            f"centre is placed where it brings the most people within {thr:g} minutes who are "
            "not yet covered, existing GPs fixed. The curve flattens as the remaining "
            "uncovered people get scattered.</p>"
        )
        parts.append(f"<img alt='siting curve' src='{_siting_curve_png(s, total['pop_beyond'])}'>")
        scols = [
            ("rank", "Rank", lambda x: _num(x)),
            ("nom", "Commune", None),
            ("insee", "INSEE", None),
            ("epci_nom", "EPCI", None),
            ("gain_pop", "People newly covered", _num),
            ("cumulative_pop", "Cumulative", _num),
            ("share_of_beyond", f"Share of the people beyond {thr:g} min", _pct),
        ]
        parts.append(_table(s, [c for c in scols if c[0] in s.columns]))

    wi = layers.get("what_if")
    if isinstance(wi, pd.DataFrame) and {"site_id", "gain_pop"} <= set(wi.columns) and len(wi):
        parts.append(
            f"<h3>What if a centre opened in …</h3><p class='note'>Each commune alone, "
            f"given the current GPs: people newly within {thr:g} minutes.</p>"
        )
        parts.append(
            _table(
                wi,
                [
                    ("nom", "Commune", None),
                    ("site_id", "INSEE", None),
                    ("gain_pop", "People newly covered", _num),
                ],
            )
        )

    # 5. agreement --------------------------------------------------------------------------
    off_list: list[str] | None = list(official) if official is not None else None
    if off_list is None and ep is not None and "official_priority" in ep.columns:
        flagged = ep.loc[ep["official_priority"].astype(bool), "epci_siren"].astype(str)
        off_list = list(flagged) if len(flagged) else None
    parts.append("<h2>5. Agreement with the official priority list</h2>")
    if off_list and ep is not None and "need_rank" in ep.columns:
        a = priority_agreement(ep, off_list)
        names = dict(
            zip(ep["epci_siren"].astype(str), ep.get("epci_nom", ep["epci_siren"]), strict=True)
        )
        missed = ", ".join(f"{_e(names.get(x, x))} (rank {r:.0f})" for x, r in a["missed"][:12])
        parts.append(
            f"<p>Of the {a['n_official']} official priority EPCI, <b>{a['n_common']}</b> are in "
            f"our top {a['top_n']} (recall {_pct(a['recall'])}, precision "
            f"{_pct(a['precision'])}, Jaccard {a['jaccard']:.2f}); median rank of the official "
            f"EPCI in our ranking: {a['median_rank_official']:.0f}.</p>"
        )
        if missed:
            parts.append(
                f"<p class='note'>Official EPCI outside our top list: {missed}"
                f"{' …' if len(a['missed']) > 12 else ''}.</p>"
            )
        parts.append(
            "<p class='note'>The official list (ARS Occitanie, 2025 Pacte de lutte contre les "
            "déserts médicaux) was chosen on five criteria whose weights are not published, "
            "then adjusted locally: agreement is expected to be partial.</p>"
        )
    else:
        parts.append(
            "<p class='note'>No official priority list was given to this run "
            "(<code>accessmap score --priority FILE.csv</code>).</p>"
        )

    # 6. methods ----------------------------------------------------------------------------
    parts.append("<h2>6. Methods, data and assumptions</h2>")
    crow = metadata.get("crow_fly") or {}
    speed_txt = (
        "Travel times come from the OpenStreetMap road network where a road file covers the "
        "area (speed profile "
        f"{_e(params.get('profile', 'osrm-car'))}: OSRM car class speeds, tagged limits scaled "
        "by 0.8), and from straight-line distance elsewhere."
        if road
        else "No road network covered this run: travel times are straight-line distances "
        "converted to car time with a detour factor and an average speed"
        f"{' (' + _e(', '.join(f'{k} {v}' for k, v in crow.items())) + ')' if crow else ''}. "
        "They are an approximation: road times are longer in mountains and shorter along "
        "motorways."
    )
    parts.append(
        "<ul>"
        f"<li><b>Travel time.</b> {speed_txt} Origins are the commune reference points (town "
        "hall); GP locations are the commune points of the communes with GPs (BPE counts, "
        "not practice addresses), so the time inside a commune with a GP is 0, as in the "
        "INSEE Metric distancier.</li>"
        f"<li><b>Target.</b> {thr:g} minutes, the Région Occitanie “Ma Santé, Ma Région” goal "
        "(a GP within a quarter of an hour). Shares count people at commune points (population "
        "municipale 2023), not areas.</li>"
        "<li><b>APL.</b> DREES accessibilité potentielle localisée: an E2SFCA on "
        "commune-to-commune times with weights 1 (&lt; 10 min), 2/3 (10–15), 1/3 (15–20), 0 "
        "beyond 20 min; supply = GP head count × 5,400 consultations a year (the DREES "
        "convention when only head counts are known: an assumption); demand standardised by "
        "age with the DREES consumption weights aggregated to 0–19, 20–64 and 65+ (census "
        "2021; an approximation of the 5-year bands). Below 2.5 = under-served.</li>"
        f"<li><b>Need ranking.</b> {_criteria_text(metadata).replace('{threshold}', f'{thr:g}')}"
        "</li>"
        "<li><b>New centres.</b> Greedy maximal covering location with existing GPs fixed; "
        "candidates are commune points.</li>"
        "<li><b>Known limits.</b> GPs from BPE 2019 (liberal GPs only, head counts, not FTE); "
        "65+ used as the proxy for the elderly (no 75+ band offline); no turn restrictions or "
        "traffic.</li></ul>"
    )
    sens = layers.get("sensitivity")
    if isinstance(sens, pd.DataFrame) and {"speed_change", "share_beyond"} <= set(sens.columns):
        parts.append("<h3>Sensitivity to speeds (±10 %)</h3>")
        parts.append(
            _table(
                sens,
                [
                    ("speed_change", "Speed change", None),
                    ("share_beyond", f"Share beyond {thr:g} min", _pct),
                ],
            )
        )
    parts.append("<h3>Data sources and licences</h3>")
    parts.append(_sources_html(metadata, road))
    ptab = _params_html(metadata)
    if ptab:
        parts.append("<h3>Run parameters</h3>" + ptab)
    parts.append(
        f"<footer>{_e(attribution_text(layers, metadata))}. Produced with accessmap "
        f"{_e(version)} on {_e(when)}. Time classes: "
        f"{_e(', '.join(c.label for c in TIME_CLASSES))}.</footer></body></html>"
    )
    return "\n".join(parts)


def write_report(
    layers: Mapping[str, pd.DataFrame],
    path: str | os.PathLike[str],
    *,
    metadata: Mapping[str, Any] | None = None,
    official: Iterable[str] | None = None,
    top_n: int = 28,
    overwrite: bool = False,
) -> Path:
    """Write :func:`build_report` to ``path`` (``.html``), atomically.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is False.
    """
    path = Path(path)
    _check_target(path, overwrite, suffix=".html")
    text = build_report(layers, metadata=metadata, official=official, top_n=top_n)
    with atomic_file(path, overwrite=overwrite, suffix=".html") as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
