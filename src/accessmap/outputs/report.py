"""The report a regional health planner forwards as is: HTML and A4 PDF, French by default.

One jinja2 template (``templates/report.html.j2``) is rendered from one context
(:func:`report_context`); every text comes from the language catalogue
(:mod:`accessmap.outputs.i18n`) and every figure from the layers, tables and run summary
that ``accessmap score`` wrote into the GeoPackage. **Nothing is recomputed**: the
département table is the ``departements`` table, the region row the ``region`` table, the
agreement with an official list the ``agreement`` table (or, for a list given only to
``accessmap report --priority``, :func:`accessmap.scoring.agreement`, the function the score
run uses), so the report says what the CLI printed. The comparison with the official DREES
APL (``score --official-apl``) is read from the ``apl_agreement_*`` tables and the
``apl_difference`` layer; the sensitivity table and the siting comparison of objectives from
the ``sensitivity`` table and ``summary["siting"]``, as written.

Sections: a plain-language summary (five or six sentences), a caveats box (engine and its
coverage, supply year and head counts, border treatment), headline cards (a good-news figure
is not coloured as an alarm), maps, EPCI ranking, siting (objective, candidates, bound, the
three objectives compared, years), agreement with an official EPCI list, agreement with the
official DREES APL (correlations, levels, shares below 2.5 and 4, 3x3 classes, per
département, largest disagreements with their likely cause, difference map; or, when the
workbook has no commune of the area, a plain statement and our APL by département), methods
with the sensitivity table and the run parameters as readable tables, an appendix on the Gini
and Palma indices.

The HTML is one self-contained file (maps as base64 PNG, inline CSS, no script). The PDF is
the same template printed by weasyprint (A4, CSS paged media, page numbers).
"""

from __future__ import annotations

import base64
import io
import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from accessmap.errors import ConfigError
from accessmap.outputs.atomic import atomic_file
from accessmap.outputs.atomic import check_target as _check_target
from accessmap.outputs.i18n import DEFAULT_LANG, Catalogue, catalogue
from accessmap.outputs.maps import (
    _layer,
    attribution_text,
    departement_outlines,
    plot_map,
    uses_road_network,
)
from accessmap.outputs.styles import SITE_COLOUR
from accessmap.scoring import DEFAULT_CRITERIA
from accessmap.scoring import agreement_table as scoring_agreement_table

logger = logging.getLogger(__name__)

__all__ = [
    "agreement_table",
    "build_report",
    "report_context",
    "write_report",
    "write_report_pdf",
]

#: A headline share below this is good news (blue card), above ALERT_SHARE an alarm (red);
#: in between neutral grey. Presentation thresholds, an assumption (no official scale).
GOOD_SHARE = 0.01
ALERT_SHARE = 0.05

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("accessmap.outputs", "templates"),
    autoescape=True,
    trim_blocks=False,
    lstrip_blocks=False,
    undefined=jinja2.StrictUndefined,
)


def _png(fig: Figure, *, dpi: int) -> str:
    buf = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _tone(share: float) -> str:
    if not np.isfinite(share):
        return ""
    return "good" if share < GOOD_SHARE else ("alert" if share >= ALERT_SHARE else "")


def _table(
    headers: Sequence[tuple[str, str]], rows: list[list[Any]], highlight: list[bool] | None = None
) -> dict[str, Any]:
    """Generic table for the template: headers ``(label, "l"|"r")`` and formatted cells."""
    return {
        "headers": [{"label": lab, "align": al} for lab, al in headers],
        "rows": rows,
        "highlight": highlight or [],
    }


def _frame(layers: Mapping[str, pd.DataFrame], name: str) -> pd.DataFrame | None:
    df = layers.get(name)
    if not isinstance(df, pd.DataFrame) or df.empty or not len(df.columns):
        return None
    return pd.DataFrame(df.drop(columns="geometry", errors="ignore"))


def agreement_table(
    epci_scores: pd.DataFrame, official: Iterable[str], *, top_n: int = 28
) -> pd.DataFrame:
    """The ``agreement`` table of a score run for an official list given after the run.

    Same rows and ``status`` (``hit``, ``missed``, ``ours only``) as the table
    ``accessmap score --priority`` writes (:mod:`accessmap.pipeline.zones`), from
    :func:`accessmap.scoring.agreement`, so the report and the CLI agree.

    Raises
    ------
    ConfigError, UnknownCodeError
        Empty list; none of the codes is an EPCI of the run.
    """
    return scoring_agreement_table(epci_scores, official, top_n=top_n)[0]


def _agreement_figures(table: pd.DataFrame) -> dict[str, Any]:
    st = table["status"].astype(str)
    hit, missed, ours = (
        int((st == "hit").sum()),
        int((st == "missed").sum()),
        int((st == "ours only").sum()),
    )
    return {
        "hit": hit,
        "n_official": hit + missed,
        "recall": hit / max(hit + missed, 1),
        "precision": hit / max(hit + ours, 1),
    }


def _criteria_text(c: Catalogue, thr: str) -> str:
    """The need criteria with readable names (``crit.<column>``) and normalised weights."""
    total = sum(float(getattr(cr, "weight", 0)) for cr in DEFAULT_CRITERIA) or 1.0
    items = []
    for cr in DEFAULT_CRITERIA:
        key = f"crit.{cr.column}"
        name = c.t(key, thr=thr) if c.has(key) else cr.column.replace("{threshold}", thr)
        items.append(c.t("methods.criterion", name=name, weight=c.num(cr.weight / total, 2)))
    return "; ".join(items)


def _param_value(c: Catalogue, key: str, v: Any) -> str:
    if isinstance(v, bool):
        return c.t("value.yes" if v else "value.no")
    if v is None or v == "" or v == [] or v == ():
        return c.t("value.none_list" if key == "priority" else "value.none")
    if isinstance(v, list | tuple):
        return ", ".join(_param_value(c, key, x) for x in v)
    if isinstance(v, float):
        return c.num(v, 0 if v == int(v) else 2)
    if isinstance(v, int):
        return c.num(v)
    return str(v)


def _site_name(r: pd.Series) -> str:
    """``Commune (dep)``: the site's ``label`` column when written, else name and code."""
    if "label" in r.index and isinstance(r["label"], str) and r["label"]:
        return r["label"]
    dep = r.get("dep_nom") or r.get("dep") or ""
    return f"{r.get('nom', '')} ({dep})" if dep else str(r.get("nom", ""))


def _siting_curve_png(
    c: Catalogue, curve: pd.DataFrame, total_beyond: float, thr: float, objective: str = "coverage"
) -> str:
    """The gain of each added centre (bars) and the cumulative gain (line), in the unit of
    the run's objective (people lifted above APL 2.5, or people newly within the target)."""
    lifted = objective == "apl" and {"lifted_pop", "cumulative_lifted_pop"} <= set(curve.columns)
    gain_col, cum_col = (
        ("lifted_pop", "cumulative_lifted_pop") if lifted else ("gain_pop", "cumulative_pop")
    )
    fig = Figure(figsize=(7.5, 3.4))
    ax = fig.add_subplot(1, 1, 1)
    k = np.concatenate([[0], curve["rank"].to_numpy(dtype=float)])
    cum = np.concatenate([[0], curve[cum_col].to_numpy(dtype=float)])
    ax.bar(curve["rank"], curve[gain_col], color="#b2abd2", width=0.6, label=c.t("sites.curve_bar"))
    ax.plot(k, cum, "-o", color=SITE_COLOUR, ms=4, label=c.t("sites.curve_cum"))
    ax.set_xlabel(c.t("sites.curve_x"))
    ax.set_ylabel(c.t("sites.curve_y_apl") if lifted else c.t("sites.curve_y", thr=f"{thr:g}"))
    ax.set_xticks(k)
    ax.yaxis.set_major_formatter(lambda y, _pos: c.num(y))
    ax.grid(alpha=0.3)
    if total_beyond > 0 and not lifted:

        def to_pct(y: Any) -> Any:
            return 100 * np.asarray(y, dtype=float) / total_beyond

        def from_pct(p: Any) -> Any:
            return np.asarray(p, dtype=float) * total_beyond / 100

        ax2 = ax.secondary_yaxis("right", functions=(to_pct, from_pct))
        ax2.set_ylabel(c.t("sites.curve_y2", thr=f"{thr:g}"))
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    fig.tight_layout()
    return _png(fig, dpi=130)


def _dep_phrase(c: Catalogue, deps: pd.DataFrame, sb: str) -> str:
    d = deps.sort_values(sb, ascending=False)
    d = d[d[sb] > 0]
    if len(d) < 2:
        return ""
    a, b = d.iloc[0], d.iloc[1]
    return c.t(
        "summary.beyond_where",
        first=a["dep_nom"],
        share1=c.pct(a[sb]),
        second=b["dep_nom"],
        share2=c.pct(b[sb]),
    )


def _driver(c: Catalogue, row: pd.Series) -> str:
    """The criterion that weighs most in an EPCI's need (highest scaled score)."""
    cols = [k for k in row.index if str(k).startswith("score_") and c.has(f"driver.{k}")]
    vals = {k: float(row[k]) for k in cols if pd.notna(row[k])}
    return c.t(f"driver.{max(vals, key=lambda k: vals[k])}") if vals else ""


def _engine_caveat(c: Catalogue, s: Mapping[str, Any], meta: Mapping[str, Any]) -> str:
    by = {str(k): int(v) for k, v in (s.get("communes_by_engine") or {}).items()}
    n = int(s.get("communes") or sum(by.values()))
    n_road = sum(v for k, v in by.items() if k != "crow-fly")
    n_crow = by.get("crow-fly", n - n_road)
    crow = meta.get("crow_fly") or {}
    params = meta.get("parameters") or {}
    if n_road == 0:
        return c.t(
            "caveat.engine_crow",
            n_crow=c.num(n_crow),
            n=c.num(n),
            detour=c.num(crow.get("detour_factor", 1.4), 1),
            speed=c.num(crow.get("speed_kmh", 60)),
        )
    rest = c.t("caveat.engine_road_rest", n_crow=c.num(n_crow)) if n_crow else ""
    net = meta.get("road_network") or s.get("road_network") or {}
    key = (
        "caveat.engine_tm"
        if str(net.get("format", "")) == "travelmapping"
        else ("caveat.engine_road")
    )
    profile = net.get("profile") or net.get("speed_model") or params.get("profile", "osrm-car")
    if not isinstance(profile, str):
        profile = str(profile.get("name", "")) if isinstance(profile, Mapping) else str(profile)
    if profile.startswith("{"):  # a speed model written as text: keep its name
        profile = profile.split("'name': '")[-1].split("'")[0]
    return c.t(key, n_road=c.num(n_road), n=c.num(n), profile=profile, rest=rest)


def _border_caveat(c: Catalogue, s: Mapping[str, Any]) -> str:
    km = float(s.get("border_km") or 0.0)
    n = int(s.get("border_context_communes") or 0)
    if km > 0 and n > 0:
        return c.t("caveat.border_context", km=c.num(km), n=c.num(n))
    return c.t("caveat.border")


def _supply_year(meta: Mapping[str, Any]) -> str:
    s = meta.get("summary") or {}
    supply = str(s.get("gp_source") or (meta.get("parameters") or {}).get("supply", "bpe2019"))
    digits = "".join(ch for ch in supply if ch.isdigit())
    return digits[:4] if len(digits) >= 4 else supply


def _stats_of(layers: Mapping[str, pd.DataFrame], name: str) -> dict[str, float]:
    """``statistic -> value`` of a ``*_summary`` table as written (empty when absent)."""
    t = _frame(layers, name)
    if t is None or not {"statistic", "value"} <= set(t.columns):
        return {}
    return {
        str(k): float(v)
        for k, v in zip(t["statistic"], pd.to_numeric(t["value"], errors="coerce"), strict=True)
    }


_CAUSES: tuple[tuple[str, str], ...] = (
    (r"^engine", "cause.engine"),
    (r"^supply \(GPs (?P<y0>\d+) in 2019 -> (?P<y1>\d+) in 2021\)", "cause.supply"),
    (r"^border", "cause.border"),
    (r"^age bands.*?(?P<ratio>\d+\.\d+)\)?$", "cause.age"),
    (r"^activity", "cause.activity"),
)


def _cause_text(c: Catalogue, cause: Any) -> str:
    """The likely cause(s) of a disagreement (``;``-joined, as :mod:`accessmap.validation`
    writes them) in the report's language; an unknown cause is shown as written."""
    out = []
    for part in str(cause or "").split("; "):
        for pattern, key in _CAUSES:
            m = re.match(pattern, part)
            if m:
                vals = {k: (c.num(float(v), 2) if k == "ratio" else v)
                        for k, v in m.groupdict().items()}  # fmt: skip
                out.append(c.t(key, **vals))
                break
        else:
            if part:
                out.append(part)
    return " ; ".join(out) if c.lang == "fr" else "; ".join(out)


def _conversion_text(c: Catalogue, label: str) -> str:
    """``activity curve (pressure)``, ``constant 4,238 (fitted)``, ``constant 5,400 (DREES
    new GP)`` (the ``conversion`` column of ``apl_agreement_conversions``) in the language."""
    m = re.match(r"^activity curve \((?P<form>.+)\)$", label)
    if m:
        return c.t("conv.activity", form=m["form"])
    m = re.match(r"^constant (?P<n>[\d,.]+) \((?P<what>.+)\)$", label)
    if m:
        n = c.num(float(m["n"].replace(",", "")))
        key = "conv.fitted" if m["what"] == "fitted" else "conv.drees"
        return c.t(key, n=n)
    return label


def _signed(c: Catalogue, x: Any, digits: int) -> str:
    """A difference with its sign (``+3,8``, ``-0,11``)."""
    text = c.num(x, digits)
    return "+" + text if text[:1].isdigit() and float(x) > 0 else text


def _apl_class_label(c: Catalogue, cls: str) -> str:
    k = {"<2.5": 0, "2.5-4": 1, ">=4": 2}.get(str(cls))
    return c.t(f"map.class.apl.{k}") if k is not None else str(cls)


def _apl_official_ctx(
    c: Catalogue,
    layers: Mapping[str, pd.DataFrame],
    s: Mapping[str, Any],
    area: str,
    *,
    maps_ctx: dict[str, Any] | None,
) -> dict[str, Any]:
    """The official-APL section from the ``apl_agreement_*`` tables (nothing recomputed).

    Three cases: the tables exist (``score --official-apl``); a workbook was given that has
    no commune of the area (``summary["apl_official_unavailable"]``: say so plainly and show
    our side, the APL per département as written in the communes layer); no workbook.
    """
    stats = _stats_of(layers, "apl_agreement_summary")
    com = _frame(layers, "communes")
    names = (
        dict(zip(com["dep"].astype(str), com["dep_nom"].astype(str), strict=False))
        if com is not None and {"dep", "dep_nom"} <= set(com.columns)
        else {}
    )
    gone = s.get("apl_official_unavailable")
    if not stats:
        ctx: dict[str, Any] = {"available": False, "map": None, "ours": None}
        if isinstance(gone, Mapping):
            ctx["text"] = c.t("aplo.unavailable", workbook=gone.get("workbook", ""), area=area)
            if com is not None and {"apl", "pop", "dep"} <= set(com.columns):
                rows = []
                for dep, g in com.groupby(com["dep"].astype(str), sort=True):
                    pop = g["pop"].astype(float)
                    apl = g["apl"].astype(float)
                    ok = apl.notna()
                    level = float((apl[ok] * pop[ok]).sum() / max(pop[ok].sum(), 1.0))
                    rows.append([dep, names.get(dep, ""), c.num(pop.sum()), c.num(level, 2),
                                 c.pct(pop[apl < 2.5].sum() / max(pop.sum(), 1.0)),
                                 c.pct(pop[apl < 4.0].sum() / max(pop.sum(), 1.0)),
                                 c.t("aplo.absent")])  # fmt: skip
                ctx["ours"] = _table(
                    [(c.t("col.dep"), "l"), (c.t("col.dep_nom"), "l"), (c.t("col.pop"), "r"),
                     (c.t("aplo.col.level_ours"), "r"), (c.t("aplo.col.below25_ours"), "r"),
                     (c.t("aplo.col.below4_ours"), "r"), (c.t("aplo.col.official"), "l")],
                    rows,
                )  # fmt: skip
                ctx["ours"]["title"] = c.t("aplo.ours_title")
                ctx["ours"]["note"] = c.t("aplo.ours_note")
        else:
            ctx["text"] = c.t("aplo.none")
        return ctx

    communes = _frame(layers, "apl_agreement_communes")
    year = ""
    if communes is not None and "year" in communes.columns and communes["year"].notna().any():
        year = str(int(pd.to_numeric(communes["year"], errors="coerce").dropna().iloc[0]))
    year = str(s.get("apl_official_year") or year)
    ctx = {
        "available": True,
        "text": c.t(
            "aplo.intro",
            year=year,
            n=c.num(stats.get("n_matched")),
            n_ours=c.num(stats.get("n_only_ours")),
            spearman=c.num(stats.get("spearman"), 2),
            pearson=c.num(stats.get("pearson"), 2),
            same=c.pct(stats.get("share_same_class_pop"), 0),
        ),
        "map": maps_ctx,
    }
    fig_rows = [
        [c.t("aplo.row.level"), c.num(stats.get("level_ours"), 2),
         c.num(stats.get("level_official"), 2),
         _signed(c, stats.get("level_ours", np.nan) - stats.get("level_official", np.nan), 2)],
        [c.t("aplo.row.below25"), c.pct(stats.get("share_below_2_5_ours")),
         c.pct(stats.get("share_below_2_5_official")),
         c.t("aplo.points", v=_signed(c, 100 * (stats.get("share_below_2_5_ours", np.nan)
                                           - stats.get("share_below_2_5_official", np.nan)), 1))],
        [c.t("aplo.row.below4"), c.pct(stats.get("share_below_4_ours")),
         c.pct(stats.get("share_below_4_official")),
         c.t("aplo.points", v=_signed(c, 100 * (stats.get("share_below_4_ours", np.nan)
                                           - stats.get("share_below_4_official", np.nan)), 1))],
        [c.t("aplo.row.mad"), c.num(stats.get("mean_abs_diff"), 2), "", ""],
    ]  # fmt: skip
    ctx["figures"] = _table(
        [(c.t("aplo.col.indicator"), "l"), (c.t("aplo.col.ours"), "r"),
         (c.t("aplo.col.official_year", year=year), "r"), (c.t("aplo.col.gap"), "r")],
        fig_rows,
    )  # fmt: skip
    conf = _frame(layers, "apl_agreement_confusion")
    ctx["confusion"] = None
    if conf is not None and {"class_official", "class_ours", "population"} <= set(conf.columns):
        order = ["<2.5", "2.5-4", ">=4"]
        cell = {(str(r["class_official"]), str(r["class_ours"])): r for _, r in conf.iterrows()}
        rows = []
        for a in order:
            row: list[Any] = [_apl_class_label(c, a)]
            for b in order:
                r = cell.get((a, b))
                row.append(
                    "" if r is None else c.t("aplo.cell", pop=c.num(r["population"]),
                                             n=c.num(r.get("communes", np.nan)))
                )  # fmt: skip
            rows.append(row)
        ctx["confusion"] = _table(
            [(c.t("aplo.col.conf_corner"), "l"),
             *[(c.t("aplo.col.conf_ours", cls=_apl_class_label(c, b)), "r") for b in order]],
            rows,
        )  # fmt: skip
    by_dep = _frame(layers, "apl_agreement_by_dep")
    ctx["deps"] = None
    if by_dep is not None and "dep" in by_dep.columns:
        rows = [
            [str(r["dep"]), names.get(str(r["dep"]), ""), c.num(r.get("n_matched")),
             c.num(r.get("spearman"), 2), c.num(r.get("level_ours"), 2),
             c.num(r.get("level_official"), 2), c.pct(r.get("share_below_2_5_ours")),
             c.pct(r.get("share_below_2_5_official"))]
            for _, r in by_dep.sort_values("dep").iterrows()
        ]  # fmt: skip
        ctx["deps"] = _table(
            [(c.t("col.dep"), "l"), (c.t("col.dep_nom"), "l"), (c.t("aplo.col.communes"), "r"),
             (c.t("aplo.col.spearman"), "r"), (c.t("aplo.col.level_ours"), "r"),
             (c.t("aplo.col.level_official"), "r"), (c.t("aplo.col.below25_ours"), "r"),
             (c.t("aplo.col.below25_official"), "r")],
            rows,
        )  # fmt: skip
    big = _frame(layers, "apl_agreement_largest_abs")
    ctx["largest"] = None
    if big is not None and {"insee", "apl_ours", "apl_official"} <= set(big.columns):
        bigs = big.sort_values("rank") if "rank" in big.columns else big
        rows = [
            [c.num(r.get("rank")),
             f"{r.get('nom', '')} ({r.get('dep', str(r['insee'])[:2])})",
             str(r["insee"]), c.num(r.get("pop_total")), c.num(r["apl_ours"], 2),
             c.num(r["apl_official"], 2), _signed(c, r.get("diff"), 2),
             _cause_text(c, r.get("cause", ""))]
            for _, r in bigs.iterrows()
        ]  # fmt: skip
        ctx["largest"] = _table(
            [(c.t("col.rank"), "r"), (c.t("col.commune"), "l"), (c.t("col.insee"), "l"),
             (c.t("col.pop"), "r"), (c.t("aplo.col.ours"), "r"),
             (c.t("aplo.col.official_short"), "r"), (c.t("aplo.col.diff"), "r"),
             (c.t("aplo.col.cause"), "l")],
            rows,
        )  # fmt: skip
        ctx["largest"]["title"] = c.t("aplo.largest_title", n=len(rows))
    conv = _frame(layers, "apl_agreement_conversions")
    ctx["conversions"] = None
    if conv is not None and "conversion" in conv.columns:
        rows = [
            [_conversion_text(c, str(r["conversion"])), c.num(r.get("spearman"), 2),
             c.num(r.get("level_ours"), 2), c.num(r.get("level_official"), 2),
             c.pct(r.get("share_below_2_5_ours")), c.pct(r.get("share_below_2_5_official"))]
            for _, r in conv.iterrows()
        ]  # fmt: skip
        ctx["conversions"] = _table(
            [(c.t("aplo.col.conversion"), "l"), (c.t("aplo.col.spearman"), "r"),
             (c.t("aplo.col.level_ours"), "r"), (c.t("aplo.col.level_official"), "r"),
             (c.t("aplo.col.below25_ours"), "r"), (c.t("aplo.col.below25_official"), "r")],
            rows, [i == 0 for i in range(len(rows))],
        )  # fmt: skip
    return ctx


def _apl_official_sentence(c: Catalogue, layers: Mapping[str, pd.DataFrame],
                           s: Mapping[str, Any], area: str) -> str:  # fmt: skip
    """One sentence of the plain-language summary on the official APL comparison."""
    stats = _stats_of(layers, "apl_agreement_summary")
    if stats:
        return c.t(
            "summary.apl_official",
            n=c.num(stats.get("n_matched")),
            rho=c.num(stats.get("spearman"), 2),
            ours=c.num(stats.get("level_ours"), 2),
            official=c.num(stats.get("level_official"), 2),
            low_ours=c.pct(stats.get("share_below_2_5_ours")),
            low_official=c.pct(stats.get("share_below_2_5_official")),
        )
    if isinstance(s.get("apl_official_unavailable"), Mapping):
        return c.t("summary.apl_official_unavailable", area=area)
    return c.t("summary.apl_no_official")


def _sensitivity_ctx(c: Catalogue, sens: pd.DataFrame | None, thr: str) -> dict[str, Any] | None:
    """The ``sensitivity`` table as written: one row per speed change and engine."""
    if sens is None or not {"speed_change", "share_beyond"} <= set(sens.columns):
        return None
    changes = []
    rows, hl = [], []
    for _, r in sens.iterrows():
        sc = str(r["speed_change"])
        engine = str(r.get("engine", "") or "")
        m = re.fullmatch(r"\s*([+-]?\d+(?:\.\d+)?)\s*%\s*", sc)
        if m:
            v = float(m[1])
            changes.append(v)
            label = ("+" if v > 0 else "") + c.num(v) + ("\u202f%" if c.lang == "fr" else "%")
            label = c.t("sens.run") if v == 0 else label
        else:
            label = c.t("sens.crow") if "crow" in sc or engine == "crow-fly" else sc
        eng = c.t(f"engine.{engine}") if c.has(f"engine.{engine}") else engine
        rows.append([label, eng, c.pct(r["share_beyond"], 2), c.num(r.get("pop_beyond")),
                     c.minutes(r.get("mean_time_min"), 2)])  # fmt: skip
        hl.append(bool(m) and float(m[1]) == 0 if m else False)
    tb = _table(
        [(c.t("col.speed_change"), "l"), (c.t("col.engine"), "l"),
         (c.t("col.share_beyond_thr", thr=thr), "r"), (c.t("col.beyond", thr=thr), "r"),
         (c.t("col.mean_time"), "r")],
        rows, hl,
    )  # fmt: skip
    span = (
        c.t("sens.span", lo=c.num(min(changes)), hi="+" + c.num(max(changes)))
        if changes and min(changes) < 0 < max(changes)
        else ""
    )
    crow = any("crow" in str(x) for x in sens["speed_change"]) or (
        "engine" in sens.columns and (sens["engine"].astype(str) == "crow-fly").any()
    )
    tb["title"] = c.t("methods.sensitivity", span=span) + (c.t("sens.and_crow") if crow else "")
    tb["note"] = c.t("sens.note", thr=thr)
    return tb


def _siting_extra(c: Catalogue, info: Mapping[str, Any], objective: str,
                  thr: str) -> dict[str, Any]:  # fmt: skip
    """The siting run explained (objective, candidates, bound, years) and the three
    objectives compared, from ``summary["siting"]`` as written by the siting stage."""
    out: dict[str, Any] = {"explain": "", "compare": None, "years": None}
    if not info:
        return out
    bits = [c.t("sites.doctors", doctors=c.num(info.get("doctors_per_centre")),
                consult=c.num(info.get("new_centre_consultations_per_doctor")))]  # fmt: skip
    if info.get("candidates") is not None:
        rule = str(info.get("candidate_rule") or "")
        m = re.match(r"communes with a pharmacy \(BPE (\d{4}) D307\) or at least ([\d,]+) "
                     r"inhabitants", rule)  # fmt: skip
        rule_txt = (
            c.t("sites.rule_default", year=m[1], pop=c.num(float(m[2].replace(",", ""))))
            if m
            else rule
        )
        bits.append(c.t("sites.candidates", n=c.num(info["candidates"]), rule=rule_txt))
    if info.get("existing_centres") or info.get("planned_centres"):
        bits.append(c.t("sites.fixed", existing=c.num(info.get("existing_centres", 0)),
                        planned=c.num(info.get("planned_centres", 0)),
                        doctors=c.num(info.get("existing_doctors", 0))))  # fmt: skip
    b = info.get("bound") or {}
    if isinstance(b, Mapping) and b.get("upper_bound") is not None:
        bits.append(c.t("sites.bound", method=b.get("method", ""),
                        value=c.num(b.get("value")), bound=c.num(b.get("upper_bound")),
                        gap=c.pct(b.get("gap"), 1)))  # fmt: skip
    else:
        bits.append(c.t("sites.no_bound"))
    out["explain"] = " ".join(bits)
    comp = info.get("compare") or {}
    if isinstance(comp, Mapping) and comp:
        rows, hl = [], []
        for obj in ("apl", "coverage", "time"):
            e = comp.get(obj)
            if not isinstance(e, Mapping):
                continue
            rows.append([c.t(f"objective.{obj}", thr=thr), c.num(e.get("sites")),
                         c.num(e.get("lifted_pop")), c.num(e.get("newly_within_pop")),
                         c.num(e.get("mean_time_change_min"), 3),
                         c.num(e.get("apl_gain_under"), 3)])  # fmt: skip
            hl.append(obj == objective)
        out["compare"] = _table(
            [(c.t("col.objective"), "l"), (c.t("col.sites"), "r"), (c.t("col.lifted"), "r"),
             (c.t("col.gain", thr=thr), "r"), (c.t("col.time_change"), "r"),
             (c.t("col.apl_gain_under"), "r")],
            rows, hl,
        )  # fmt: skip
        out["compare"]["title"] = c.t("sites.compare_title")
        out["compare"]["note"] = c.t(
            "sites.compare_note", objective=c.t(f"objective.{objective}", thr=thr)
        )
    years = info.get("years") or []
    if years:
        rows = [[str(y.get("year", "")), ", ".join(map(str, y.get("sites", []))),
                 c.num(y.get("lifted_pop")), c.num(y.get("newly_within_pop")),
                 c.num(y.get("pop_below_2_5")), c.minutes(y.get("mean_time_min"), 2)]
                for y in years]  # fmt: skip
        out["years"] = _table(
            [(c.t("col.year"), "l"), (c.t("col.sites_list"), "l"), (c.t("col.lifted"), "r"),
             (c.t("col.gain", thr=thr), "r"), (c.t("col.below25_left"), "r"),
             (c.t("col.mean_time"), "r")],
            rows,
        )  # fmt: skip
        out["years"]["title"] = c.t("sites.years_title")
    return out


def report_context(
    layers: Mapping[str, pd.DataFrame],
    *,
    metadata: Mapping[str, Any] | None = None,
    official: Iterable[str] | None = None,
    top_n: int = 28,
    lang: str = DEFAULT_LANG,
    include_maps: bool = True,
    map_dpi: int = 110,
    title: str | None = None,
) -> dict[str, Any]:
    """Everything the report template shows, formatted in ``lang``.

    Parameters
    ----------
    layers : mapping of str to (Geo)DataFrame
        Layers and tables of a score run (:func:`accessmap.outputs.geopackage.read_geopackage`
        or :func:`~accessmap.outputs.geopackage.layers_of` a ``ScoreResult``): ``communes``,
        ``epci_scores``, ``sites``, ``departements``, ``region``, ``siting_curve``, and when
        present ``agreement``, ``what_if``, ``sensitivity``, ``apl_agreement``.
    metadata : mapping, optional
        Run metadata; its ``summary`` holds the headline figures the CLI printed.
    official : iterable of str, optional
        Official priority EPCI given after the run (``accessmap report --priority``); default:
        the run's own ``agreement`` table.
    top_n : int, default 28
        Rows of the EPCI ranking shown (28 = the ARS Occitanie priority EPCI, 2025).
    lang : {"fr", "en"}, default "fr"
    include_maps : bool, default True
        Draw the three maps (about a second each).
    map_dpi : int, default 110
        Resolution of the embedded maps.
    title : str, optional

    Returns
    -------
    dict
        The template context.
    """
    c = catalogue(lang)
    meta = dict(metadata or {})
    s = dict(meta.get("summary") or {})
    params = dict(meta.get("parameters") or {})
    com = _layer(layers, "communes", ("insee", "dep", "pop", "time_gp_min"))
    ep = _frame(layers, "epci_scores")
    sites = _frame(layers, "sites")
    deps = _frame(layers, "departements")
    region = _frame(layers, "region")
    curve = _frame(layers, "siting_curve")
    thr = float(s.get("threshold_min") or params.get("threshold_min") or 15.0)
    sb, pb = f"share_beyond_{thr:g}", f"pop_beyond_{thr:g}"
    area = str(s.get("area") or meta.get("area") or "Occitanie")
    when = str(meta.get("created") or meta.get("written") or "")[:10] or (
        datetime.now(UTC).date().isoformat()
    )
    version = str(meta.get("version") or meta.get("accessmap_version") or "")
    pop_total = float(s.get("population") or com["pop"].sum())
    share_beyond = float(s.get("share_beyond_target", np.nan))
    pop_beyond = float(s.get("pop_beyond_target", np.nan))
    if region is not None and sb in region.columns:  # the region table wins when written
        share_beyond, pop_beyond = float(region[sb].iloc[0]), float(region[pb].iloc[0])
    mean_time = float(s.get("mean_time_min", np.nan))
    if region is not None and "mean_time_min" in region.columns:
        mean_time = float(region["mean_time_min"].iloc[0])
    k_sites = len(sites) if sites is not None else 0
    objective = (
        str(sites["objective"].iloc[0])
        if k_sites and sites is not None and ("objective" in sites.columns)
        else str(params.get("objective") or "coverage")
    )
    if curve is not None and "objective" in curve.columns:  # one curve per objective
        curve = curve[curve["objective"].astype(str) == objective]
    srt = sites.sort_values("rank") if k_sites and sites is not None else None
    new_cov = float(srt["cumulative_pop"].iloc[-1]) if srt is not None else 0.0
    lifted = (
        float(srt["cumulative_lifted_pop"].iloc[-1])
        if srt is not None and "cumulative_lifted_pop" in srt.columns
        else np.nan
    )
    doctors = (
        float(srt["doctors"].iloc[0]) if srt is not None and "doctors" in srt.columns else np.nan
    )
    thr_s = f"{thr:g}"

    # agreement: the run's table, or a list given to the report
    agr_t: pd.DataFrame | None = _frame(layers, "agreement")
    run_top = int(params.get("top_n") or 28)
    if official is not None and ep is not None:
        agr_t = agreement_table(ep, official, top_n=run_top)
    if agr_t is not None and "status" not in agr_t.columns:
        agr_t = None

    # --- summary sentences ------------------------------------------------------------
    summary: list[str] = []
    if pop_beyond > 0:
        where = _dep_phrase(c, deps, sb) if deps is not None and sb in deps.columns else ""
        summary.append(
            c.t(
                "summary.beyond",
                share=c.pct(share_beyond),
                area=area,
                pop=c.num(pop_beyond),
                total=c.num(pop_total),
                thr=thr_s,
                where=where,
            )
        )
    else:
        summary.append(c.t("summary.beyond_none", area=area, thr=thr_s))
    summary.append(c.t("summary.mean", mean=c.minutes(mean_time)))
    if "share_apl_below_2_5" in s:
        apl_s = c.t(
            "summary.apl",
            share_low=c.pct(s["share_apl_below_2_5"]),
            share_fragile=c.pct(s.get("share_apl_below_4")),
        )
        apl_s += " " + _apl_official_sentence(c, layers, s, area)
        summary.append(apl_s)
    if ep is not None and "need_rank" in ep.columns and len(ep) >= 3:
        top3 = ep.sort_values("need_rank").head(3)
        kw: dict[str, str] = {}
        for i, (_, r) in enumerate(top3.iterrows(), start=1):
            kw[f"e{i}"] = str(r.get("epci_nom", r["epci_siren"]))
            kw[f"d{i}"] = _driver(c, r)
        summary.append(c.t("summary.epci", **kw))
    if srt is not None:
        first = srt.iloc[0]
        share_new = new_cov / pop_beyond if pop_beyond > 0 else np.nan
        key = (
            ("summary.sites_apl" if new_cov > 0 else "summary.sites_apl_only")
            if objective == "apl" and np.isfinite(lifted)
            else (
                "summary.sites_time"
                if objective == "time" and "mean_time_min" in srt.columns
                else "summary.sites"
            )
        )
        summary.append(
            c.t(
                key,
                k=k_sites,
                gain=c.num(new_cov),
                thr=thr_s,
                share=c.pct(share_new, 0),
                site1=_site_name(first),
                gain1=c.num(first["gain_pop"]),
                lifted=c.num(lifted),
                lifted1=c.num(first.get("lifted_pop")),
                doctors=c.num(doctors),
                mean_before=c.minutes(mean_time, 2),
                mean_after=c.minutes(
                    srt["mean_time_min"].iloc[-1] if "mean_time_min" in srt.columns else np.nan, 2
                ),
            )
        )
    else:
        summary.append(c.t("summary.sites_none"))
    if agr_t is not None:
        a = _agreement_figures(agr_t)
        summary.append(
            c.t(
                "summary.agreement",
                hit=a["hit"],
                n_official=a["n_official"],
                top=run_top,
                recall=c.pct(a["recall"], 0),
                precision=c.pct(a["precision"], 0),
            )
        )
    else:
        summary.append(c.t("summary.no_list"))

    # --- caveats ------------------------------------------------------------------------
    caveats = [
        _engine_caveat(c, s, meta),
        c.t(
            "caveat.supply",
            year=_supply_year(meta),
            consult=c.num(
                s.get("consultations_per_gp") or params.get("consultations_per_gp", 5400.0)
            ),
        ),
        c.t("caveat.points"),
        _border_caveat(c, s),
    ]

    # --- cards --------------------------------------------------------------------------
    def card(value: str, label: str, tone: str) -> dict[str, str]:
        tl = {"good": c.t("card.tone_good"), "alert": c.t("card.tone_alert")}.get(tone, "")
        return {"value": value, "label": label, "tone": tone, "tone_label": tl}

    cards = [
        card(
            c.pct(share_beyond),
            c.t("card.beyond", thr=thr_s, pop=c.num(pop_beyond)),
            _tone(share_beyond),
        ),
        card(c.minutes(mean_time), c.t("card.mean"), ""),
    ]
    if "share_apl_below_2_5" in s:
        low = float(s["share_apl_below_2_5"])
        cards.append(card(c.pct(low), c.t("card.apl_low"), _tone(low)))
    if srt is not None and objective == "apl" and np.isfinite(lifted):
        cards.append(card(c.num(lifted), c.t("card.sites_apl", k=k_sites), "good"))
    elif srt is not None:
        cards.append(card(c.num(new_cov), c.t("card.sites", thr=thr_s, k=k_sites), "good"))

    # --- départements ---------------------------------------------------------------------
    deps_ctx = None
    if deps is not None and sb in deps.columns:
        maxshare = float(deps[sb].max() or 0) or 1.0
        rows = [
            [
                str(r["dep"]),
                str(r["dep_nom"]),
                c.num(r["pop"]),
                c.num(r[pb]),
                c.pct(r[sb]),
                {"bar": int(120 * float(r[sb]) / maxshare)},
                c.minutes(r["mean_time_min"]),
            ]
            for _, r in deps.iterrows()
        ]
        hl = [False] * len(rows)
        if region is not None and sb in region.columns:
            r = region.iloc[0]
            rows.append(
                [
                    "",
                    c.t("total"),
                    c.num(r["pop"]),
                    c.num(r[pb]),
                    c.pct(r[sb]),
                    "",
                    c.minutes(r["mean_time_min"]),
                ]
            )
            hl.append(True)
        deps_ctx = _table(
            [
                (c.t("col.dep"), "l"),
                (c.t("col.dep_nom"), "l"),
                (c.t("col.pop"), "r"),
                (c.t("col.beyond", thr=thr_s), "r"),
                (c.t("col.share_beyond"), "r"),
                ("", "l"),
                (c.t("col.mean_time"), "r"),
            ],
            rows,
            hl,
        )
        deps_ctx["title"] = c.t("deps.title", thr=thr_s)

    # --- maps ---------------------------------------------------------------------------
    maps: list[dict[str, str]] = []
    if include_maps:
        which = ["time"]
        if "apl" in com.columns:
            which.append("apl")
        if isinstance(layers.get("epci_scores"), pd.DataFrame) and ep is not None:
            which.append("need")
        outlines = departement_outlines(com)
        for ind in which:
            fig = plot_map(layers, indicator=ind, metadata=meta, outlines=outlines, lang=lang)
            maps.append(
                {
                    "alt": f"{ind} map",
                    "src": _png(fig, dpi=map_dpi),
                    "caption": c.t(f"maps.caption_{ind}"),
                }
            )

    # --- EPCI ranking -------------------------------------------------------------------
    epci_ctx = None
    if ep is not None and "need_rank" in ep.columns:
        e = ep.sort_values("need_rank")
        spec: list[tuple[str, str, str, Any]] = [
            ("need_rank", c.t("col.rank"), "r", lambda x: c.num(x)),
            ("epci_nom", c.t("col.epci"), "l", str),
            ("pop", c.t("col.pop"), "r", lambda x: c.num(x)),
            (sb, c.t("col.beyond", thr=thr_s), "r", lambda x: c.pct(x)),
            ("mean_time_min", c.t("col.mean_time"), "r", lambda x: c.minutes(x)),
            ("apl", c.t("col.apl"), "r", lambda x: c.num(x, 2)),
            ("share_65p", c.t("col.share_65p"), "r", lambda x: c.pct(x)),
            ("time_emergency_min", c.t("col.emergency"), "r", lambda x: c.minutes(x, 0)),
            ("need_score", c.t("col.need_score"), "r", lambda x: c.num(x, 0)),
        ]
        spec = [x for x in spec if x[0] in e.columns]
        top = e.head(top_n)
        rows = [[f(r[col]) for col, _, _, f in spec] for _, r in top.iterrows()]
        off_ids = (
            set(agr_t.loc[agr_t["status"] != "ours only", "epci_siren"].astype(str))
            if (agr_t is not None)
            else set()
        )
        if not off_ids and "official_priority" in top.columns:
            off_ids = set(top.loc[top["official_priority"].astype(bool), "epci_siren"].astype(str))
        hl = [str(x) in off_ids for x in top["epci_siren"]]
        epci_ctx = _table([(lab, al) for _, lab, al, _ in spec], rows, hl)
        epci_ctx["title"] = c.t("section.epci", top=min(top_n, len(e)), n=len(e))
        epci_ctx["note"] = c.t("epci.note", thr=thr_s)

    # --- sites --------------------------------------------------------------------------
    sites_ctx = None
    if srt is not None:
        spec2: list[tuple[str, str, str, Any]] = [
            ("rank", c.t("col.rank"), "r", lambda x: c.num(x)),
            ("insee", c.t("col.insee"), "l", str),
            ("epci_nom", c.t("col.epci"), "l", str),
            ("doctors", c.t("col.doctors"), "r", lambda x: c.num(x)),
            ("lifted_pop", c.t("col.lifted"), "r", lambda x: c.num(x)),
            ("apl_site_after", c.t("col.apl_after"), "r", lambda x: c.num(x, 2)),
            ("gain_pop", c.t("col.gain", thr=thr_s), "r", lambda x: c.num(x)),
            ("cumulative_pop", c.t("col.cumulative"), "r", lambda x: c.num(x)),
        ]
        spec2 = [x for x in spec2 if x[0] in srt.columns]
        rows = [
            [f(r[col]) for col, _, _, f in spec2[:1]]
            + [_site_name(r)]
            + [f(r[col]) for col, _, _, f in spec2[1:]]
            for _, r in srt.iterrows()
        ]
        heads = [(lab, al) for _, lab, al, _ in spec2]
        sites_ctx = _table([*heads[:1], (c.t("col.commune"), "l"), *heads[1:]], rows)
        sites_ctx["title"] = c.t("section.sites", k=k_sites)
        sites_ctx["note"] = c.t(
            f"sites.note_{objective}"
            if c.has(f"sites.note_{objective}")
            else "sites.note_coverage",
            thr=thr_s,
        )
        sites_ctx["curve"] = (
            _siting_curve_png(c, curve, pop_beyond, thr, objective)
            if curve is not None and len(curve)
            else ""
        )
        ex = meta.get("exact") or s.get("exact") or {}
        sites_ctx["exact"] = (
            c.t(
                "sites.exact",
                status=ex.get("status", ""),
                objective=c.num(ex["objective"]),
                ratio=c.pct(ex.get("greedy_ratio"), 2),
            )
            if isinstance(ex, Mapping) and "objective" in ex
            else ""
        )
        extra = _siting_extra(c, s.get("siting") or {}, objective, thr_s)
        sites_ctx["explain"] = extra["explain"]
        sites_ctx["extra"] = [t for t in (extra["compare"], extra["years"]) if t is not None]
    wi = _frame(layers, "what_if")
    wi_ctx = None
    if wi is not None and {"site_id", "gain_pop"} <= set(wi.columns):
        wi_ctx = _table(
            [(c.t("col.commune"), "l"), (c.t("col.insee"), "l"), (c.t("col.gain", thr=thr_s), "r")],
            [
                [str(r.get("nom", "")), str(r["site_id"]), c.num(r["gain_pop"])]
                for _, r in wi.iterrows()
            ],
        )
        wi_ctx["note"] = c.t("whatif.note", thr=thr_s)

    # --- agreement ----------------------------------------------------------------------
    agr_ctx = None
    if agr_t is not None:
        a = _agreement_figures(agr_t)
        ordered = agr_t.sort_values("need_rank")
        missed = ordered[ordered["status"] == "missed"]
        names = ", ".join(
            f"{r.get('epci_nom', r['epci_siren'])} "
            f"({c.t('agreement.rank', rank=c.num(r['need_rank']))})"
            for _, r in missed.head(12).iterrows()
        )
        rows = [
            [
                c.t(f"status.{r['status']}")
                if c.has(f"status.{r['status']}")
                else str(r["status"]),
                c.num(r["need_rank"]),
                str(r.get("epci_nom", "")),
                c.num(r.get("need_score"), 0),
            ]
            for _, r in ordered.iterrows()
        ]
        agr_ctx = _table(
            [
                (c.t("col.status"), "l"),
                (c.t("col.rank"), "r"),
                (c.t("col.epci"), "l"),
                (c.t("col.need_score"), "r"),
            ],
            rows,
            [st == "hit" for st in ordered["status"]],
        )
        agr_ctx["text"] = c.t(
            "agreement.text",
            n_official=a["n_official"],
            hit=a["hit"],
            top=run_top,
            recall=c.pct(a["recall"], 0),
            precision=c.pct(a["precision"], 0),
        )
        agr_ctx["missed"] = (
            c.t("agreement.missed", names=names) + (" …" if len(missed) > 12 else "")
            if len(missed)
            else ""
        )

    # --- official DREES APL (score --official-apl): the apl_agreement_* tables as written
    diff_map = None
    if include_maps and isinstance(layers.get("apl_difference"), pd.DataFrame):
        fig = plot_map(layers, indicator="apl_diff", metadata=meta, lang=lang,
                       outlines=departement_outlines(com))  # fmt: skip
        diff_map = {"alt": "apl_diff map", "src": _png(fig, dpi=map_dpi),
                    "caption": c.t("maps.caption_apl_diff")}  # fmt: skip
    apl_off = _apl_official_ctx(c, layers, s, area, maps_ctx=diff_map)

    # --- methods --------------------------------------------------------------------------
    road = uses_road_network(layers, meta)
    crow = meta.get("crow_fly") or {}
    crow_txt = ", ".join(f"{k} {c.num(v, 1)}" for k, v in crow.items())
    holes = meta.get("commune_holes") or {}
    filled = [
        f"{h['nom']} ({h['insee']}, {c.num(h['area_km2'], 1)} km²)" for h in holes.get("filled", [])
    ]
    left = [f"{c.num(h['area_km2'], 1)} km²" for h in holes.get("left", [])]
    methods = [
        {
            "head": c.t("methods.travel"),
            "text": _engine_caveat(c, s, meta)
            if road
            else c.t("methods.travel_crow", params=crow_txt),
        },
        {"head": c.t("methods.target"), "text": c.t("methods.target_text", thr=thr_s)},
        {
            "head": c.t("methods.apl"),
            "text": c.t(
                "methods.apl_text",
                consult=c.num(
                    s.get("consultations_per_gp") or params.get("consultations_per_gp", 5400.0)
                ),
            ),
        },
        {
            "head": c.t("methods.need"),
            "text": c.t("methods.need_text", criteria=_criteria_text(c, thr_s)),
        },
        {"head": c.t("methods.sites"), "text": c.t("methods.sites_text")},
        {
            "head": c.t("methods.limits"),
            "text": c.t("methods.limits_text", year=_supply_year(meta)),
        },
        {
            "head": c.t("methods.holes"),
            "text": c.t(
                "methods.holes_text",
                list="; ".join(filled),
                left=", ".join(left) or c.t("value.none"),
            )
            if filled
            else c.t("methods.holes_none"),
        },
    ]
    sens_ctx = _sensitivity_ctx(c, _frame(layers, "sensitivity"), thr_s)
    sources: list[str] = []
    for src in meta.get("sources") or []:
        if not isinstance(src, Mapping):
            sources.append(str(src))
            continue
        name = src.get("description") or src.get("title") or src.get("name") or ""
        bits = [str(name)]
        if src.get("publisher"):
            bits.append(str(src["publisher"]))
        if src.get("licence") or src.get("license"):
            bits.append(c.t("source.licence", licence=src.get("licence") or src.get("license")))
        if src.get("attribution"):
            bits.append(c.t("source.attribution", attribution=src["attribution"]))
        sources.append(" — ".join(bits))
    if road:
        sources.append(c.t("source.osm"))
    prow = [
        [c.t(f"param.{k}") if c.has(f"param.{k}") else k, _param_value(c, k, v)]
        for k, v in params.items()
    ]
    params_ctx = _table([(c.t("col.parameter"), "l"), (c.t("col.value"), "l")], prow)
    appendix = []
    if "gini_apl" in s:
        appendix.append(c.t("appendix.gini", value=c.num(s["gini_apl"], 3)))
    if "palma_apl" in s:
        appendix.append(c.t("appendix.palma", value=c.num(s["palma_apl"], 2)))

    return {
        "lang": lang,
        "t": c.t,
        "title": title or c.t("report.title", area=area),
        "subtitle": c.t("report.subtitle", date=when, version=version),
        "summary": summary,
        "caveats": caveats,
        "cards": cards,
        "deps": deps_ctx,
        "maps": maps,
        "epci": epci_ctx,
        "sites": sites_ctx,
        "what_if": wi_ctx,
        "agreement": agr_ctx,
        "apl_official": apl_off,
        "methods": methods,
        "sensitivity": sens_ctx,
        "sources": sources,
        "params": params_ctx,
        "appendix": appendix,
        "footer": c.t(
            "footer", attribution=attribution_text(layers, meta), version=version, date=when
        ),
    }


def build_report(
    layers: Mapping[str, pd.DataFrame],
    *,
    metadata: Mapping[str, Any] | None = None,
    official: Iterable[str] | None = None,
    top_n: int = 28,
    lang: str = DEFAULT_LANG,
    title: str | None = None,
    map_dpi: int = 110,
    include_maps: bool = True,
) -> str:
    """The report as one self-contained HTML string (see :func:`report_context`).

    Examples
    --------
    >>> html = build_report(layers, metadata=meta, lang="fr")  # doctest: +SKIP
    """
    if top_n < 1:
        raise ConfigError(f"top_n must be >= 1, got {top_n}")
    ctx = report_context(
        layers,
        metadata=metadata,
        official=official,
        top_n=top_n,
        lang=lang,
        include_maps=include_maps,
        map_dpi=map_dpi,
        title=title,
    )
    return _ENV.get_template("report.html.j2").render(**ctx)


def write_report(
    layers: Mapping[str, pd.DataFrame],
    path: str | os.PathLike[str],
    *,
    metadata: Mapping[str, Any] | None = None,
    official: Iterable[str] | None = None,
    top_n: int = 28,
    lang: str = DEFAULT_LANG,
    overwrite: bool = False,
    include_maps: bool = True,
) -> Path:
    """Write :func:`build_report` to ``path`` (``.html``), atomically.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is False.
    """
    path = Path(path)
    _check_target(path, overwrite, suffix=".html")
    text = build_report(
        layers,
        metadata=metadata,
        official=official,
        top_n=top_n,
        lang=lang,
        include_maps=include_maps,
    )
    with atomic_file(path, overwrite=overwrite, suffix=".html") as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_report_pdf(
    layers: Mapping[str, pd.DataFrame],
    path: str | os.PathLike[str],
    *,
    metadata: Mapping[str, Any] | None = None,
    official: Iterable[str] | None = None,
    top_n: int = 28,
    lang: str = DEFAULT_LANG,
    overwrite: bool = False,
    html: str | None = None,
    include_maps: bool = True,
) -> Path:
    """Write the same report as an A4 PDF (weasyprint, CSS paged media), atomically.

    Parameters
    ----------
    html : str, optional
        An already built report (:func:`build_report`) to print, so that the HTML and the
        PDF written together are the same document; built from ``layers`` otherwise.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is False.
    ConfigError
        weasyprint is not installed.
    """
    path = Path(path)
    _check_target(path, overwrite, suffix=".pdf")
    try:
        import weasyprint
    except ImportError as exc:  # pragma: no cover - a dependency of accessmap
        raise ConfigError(
            f"the PDF report needs weasyprint ({exc}): pip install weasyprint"
        ) from exc
    if html is None:
        html = build_report(
            layers,
            metadata=metadata,
            official=official,
            top_n=top_n,
            lang=lang,
            include_maps=include_maps,
        )
    with atomic_file(path, overwrite=overwrite, suffix=".pdf") as tmp:
        weasyprint.HTML(string=html).write_pdf(str(tmp))
    return path
