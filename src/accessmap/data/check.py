"""``check_data``: read every dataset present in the data directory and measure the joins.

The report has one row per file (or GeoPackage layer): dataset, file, rows, CRS, status; and
the join rates between datasets (communes with population, with an EPCI, with a routing
origin; GP supply rows whose commune is known; population grid total against the commune
total; BPE rows whose commune code maps to COG 2026; ...). ``accessmap data check`` prints it.
"""

from __future__ import annotations

import logging
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from accessmap.data import validate as v
from accessmap.data.registry import Dataset, load_registry, resolve_data_dir, sha256_file
from accessmap.errors import (
    AccessmapError,
    DataNotFoundError,
    ModifiedDataError,
    UnreadableFileError,
)
from accessmap.loaders import (
    load_bpe,
    load_bpe_geolocated,
    load_commune_code_map,
    load_commune_origins,
    load_communes,
    load_departements,
    load_epci,
    load_finess,
    load_gp_supply,
    load_hospitals,
    load_population_by_age,
    load_population_grid,
)
from accessmap.loaders.admin import detect_road_format
from accessmap.loaders.bpe import normalise_codes

__all__ = [
    "CheckReport",
    "CheckRow",
    "JoinRate",
    "ModifiedDataError",
    "check_data",
    "modified_inputs",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckRow:
    """One checked file or layer.

    ``status``: ``"ok"``; ``"modified"`` (readable but its SHA-256 or row count differs
    from the registry: ``message`` says how); ``"missing"``; ``"broken"`` (``message`` says
    why). A required file that is missing, broken or modified fails the check.
    """

    dataset: str
    file: str
    rows: int | None
    crs: str
    status: str
    required: bool
    message: str = ""

    @property
    def failed(self) -> bool:
        """True for a missing, broken or modified file."""
        return self.status in ("missing", "broken", "modified")


@dataclass(frozen=True)
class JoinRate:
    """``matched`` of ``total`` (``rate`` = matched / total)."""

    name: str
    matched: float
    total: float
    note: str = ""

    @property
    def rate(self) -> float:
        """Share matched (NaN when total is 0)."""
        return self.matched / self.total if self.total else float("nan")


@dataclass
class CheckReport:
    """Result of :func:`check_data`."""

    data_dir: Path
    rows: list[CheckRow] = field(default_factory=list)
    join_rates: list[JoinRate] = field(default_factory=list)

    @property
    def problems(self) -> list[CheckRow]:
        """Rows of required datasets that are missing or broken."""
        return [r for r in self.rows if r.required and r.failed]

    @property
    def ok(self) -> bool:
        """True when every required dataset is present and readable."""
        return not self.problems

    def raise_for_problems(self) -> None:
        """Raise DataNotFoundError (missing) or UnreadableFileError (broken) naming them."""
        probs = self.problems
        if not probs:
            return
        missing = [r for r in probs if r.status == "missing"]
        if missing:
            names = ", ".join(f"{r.dataset} ({r.file})" for r in missing)
            raise DataNotFoundError(
                f"required dataset(s) missing in {self.data_dir}: {names}; copy them from the "
                "data bundle or run `accessmap data fetch required --base-url MIRROR`"
            )
        broken = [r for r in probs if r.status == "broken"]
        if not broken:
            r = probs[0]
            raise ModifiedDataError(
                f"required dataset {r.dataset} differs from the registered version: {r.file}: "
                f"{r.message}"
                + (f" (and {len(probs) - 1} more)" if len(probs) > 1 else "")
                + "; it looks truncated or edited: fetch it again (`accessmap data fetch "
                f"{r.dataset}`, with --base-url for a bundle file), or run `accessmap score "
                "--allow-modified-data` to use it anyway"
            )
        r = broken[0]
        raise UnreadableFileError(
            f"required dataset {r.dataset} is broken: {r.file}: {r.message}"
            + (f" (and {len(probs) - 1} more)" if len(probs) > 1 else "")
        )

    def to_frame(self) -> pd.DataFrame:
        """The file table as a DataFrame."""
        return pd.DataFrame([r.__dict__ for r in self.rows])


def _crs_str(crs: Any) -> str:
    if crs is None:
        return "none"
    epsg = crs.to_epsg() if hasattr(crs, "to_epsg") else None
    return f"EPSG:{epsg}" if epsg else str(crs)[:30]


class _Checker:
    """Reads each dataset once; keeps loaded tables for the join rates."""

    def __init__(self, data_dir: Path) -> None:
        self.d = data_dir
        self.loaded: dict[str, Any] = {}

    # Each reader returns a list of (file label, rows, crs) and may store tables.
    def read(self, ds: Dataset) -> list[tuple[str, int | None, str]]:
        reader: Callable[[Dataset], list[tuple[str, int | None, str]]] = getattr(
            self, f"_read_{ds.name}", self._read_generic
        )
        return reader(ds)

    def _read_admin(self, ds: Dataset) -> list[tuple[str, int | None, str]]:
        import pyogrio

        p = self.d / ds.files[0].name
        crs = v.read_layer(p, layer="departements", columns=["dep"]).crs
        src = _crs_str(crs)
        c = self.loaded["communes"] = load_communes(self.d)
        e = self.loaded["epci"] = load_epci(self.d)
        dd = self.loaded["departements"] = load_departements(self.d)
        o = self.loaded["origins"] = load_commune_origins(self.d)
        n_mairies = pyogrio.read_info(p, layer="mairies")["features"]
        return [
            (f"{p.name}:communes", len(c), src),
            (f"{p.name}:epci", len(e), src),
            (f"{p.name}:departements", len(dd), src),
            (f"{p.name}:commune_origins", len(o), src),
            (f"{p.name}:mairies", int(n_mairies), src),
        ]

    def _read_commune_code_map(self, ds: Dataset) -> list[tuple[str, int | None, str]]:

        m = self.loaded["code_map"] = load_commune_code_map(self.d)
        return [(ds.files[0].name, len(m) + len(m.attrs["ambiguous"]) // 2, "-")]

    def read_alternative(self, ds: Dataset) -> list[tuple[str, int | None, str]]:
        """Read a dataset that is absent but can be built from an alternative."""
        if ds.name != "commune_code_map":
            raise UnreadableFileError(f"{ds.name}: no builder for its alternatives")

        m = self.loaded["code_map"] = load_commune_code_map(self.d)
        return [("(built in memory)", len(m), "-")]

    def _read_supply_gp_bpe2019(self, ds: Dataset) -> list[tuple[str, int | None, str]]:

        p = self.d / ds.files[0].name
        t = v.read_csv(p, columns=["insee", "gp_2019"], dtype={"insee": "str"})
        self.loaded["gp_table"] = t
        self.loaded["gp_supply"] = load_gp_supply(self.d)
        return [(p.name, len(t), "EPSG:4326 (lon/lat)")]

    def _read_bpe2019_health_france(self, ds: Dataset) -> list[tuple[str, int | None, str]]:
        p = self.d / ds.files[0].name
        t = v.read_csv(
            p,
            columns=["DEPCOM", "TYPEQU", "NB_EQUIP"],
            sep=";",
            dtype={"DEPCOM": "str", "TYPEQU": "str"},
        )
        v.to_numeric(t, "NB_EQUIP", where=p.name)
        self.loaded["bpe_rows"] = t
        return [(p.name, len(t), "-")]

    def _read_hospitals_finess_2020(self, ds: Dataset) -> list[tuple[str, int | None, str]]:

        h = self.loaded["hospitals"] = load_hospitals(self.d)
        return [(f"{ds.files[0].name}:hospitals_finess_2020", len(h), "EPSG:4326")]

    def _read_ma_sante_centres(self, ds: Dataset) -> list[tuple[str, int | None, str]]:
        p = self.d / ds.files[0].name
        t = v.read_csv(p, columns=["insee", "commune", "site_kind"], dtype={"insee": "str"})
        self.loaded["centres"] = t
        return [(p.name, len(t), "- (at commune origins)")]

    def _read_iris_rp2021(self, ds: Dataset) -> list[tuple[str, int | None, str]]:

        p = self.d / ds.files[0].name
        rows = len(v.read_csv(p, columns=["iris", "com_2026"], dtype={"iris": "str"}))
        self.loaded["age"] = load_population_by_age(self.d)
        return [(p.name, rows, "-")]

    def _read_grid(self, ds: Dataset, key: str) -> list[tuple[str, int | None, str]]:
        import rasterio

        p = self.d / ds.files[0].name
        g = self.loaded[key] = load_population_grid(p)
        with rasterio.open(p) as src:
            crs = _crs_str(src.crs)
        return [(p.name, len(g), crs)]

    def _read_popgrid_occitanie_2010(self, ds: Dataset) -> list[tuple[str, int | None, str]]:
        return self._read_grid(ds, "grid")

    def _read_popgrid_lot_2015(self, ds: Dataset) -> list[tuple[str, int | None, str]]:
        return self._read_grid(ds, "grid_lot")

    def _read_finess_etalab(self, ds: Dataset) -> list[tuple[str, int | None, str]]:
        import warnings

        p = self.d / ds.files[0].name
        with warnings.catch_warnings():  # establishments without coordinates: counted below
            warnings.simplefilter("ignore")
            f = load_finess(p)
        return [(f"{p.name} (Occitanie)", len(f), "EPSG:2154")]

    def _read_bpe2019_ensemble(self, ds: Dataset) -> list[tuple[str, int | None, str]]:

        p = self.d / ds.files[0].name
        gp = load_bpe(p, data_dir=self.d)
        return [(f"{p.name} (GP communes, Occitanie)", len(gp), "-")]

    def _read_bpe2024_geoloc(self, ds: Dataset) -> list[tuple[str, int | None, str]]:

        p = self.d / ds.files[0].name
        gp = load_bpe_geolocated(p, data_dir=self.d)
        return [(f"{p.name} (GP points, Occitanie)", len(gp), "EPSG:2154")]

    def _read_generic(self, ds: Dataset) -> list[tuple[str, int | None, str]]:
        out: list[tuple[str, int | None, str]] = []
        for f in ds.files:
            p = self.d / f.name
            name = f.name.lower()
            if name.endswith((".pbf", ".osm", ".bz2")):
                detect_road_format(p)
                out.append((f.name, None, "EPSG:4326"))
            elif name.endswith((".csv", ".csv.gz")):
                header = v.read_header(p, encoding="latin-1")
                t = v.read_csv(p, columns=[header[0]], sep=None, encoding=None)
                crs = "EPSG:4326 (lon/lat)" if {"lon", "lat"} <= set(header) else "-"
                out.append((f.name, len(t), crs))
            elif name.endswith(".zip"):
                try:
                    with zipfile.ZipFile(p) as zf:
                        n = len(zf.namelist())
                except zipfile.BadZipFile as exc:
                    raise UnreadableFileError(f"{f.name}: not a valid zip ({exc})") from exc
                out.append((f.name, None, f"- ({n} members)"))
            elif name.endswith((".tgz", ".tar.gz")):
                try:
                    with tarfile.open(p) as tf:
                        n = len(tf.getmembers())
                except (tarfile.TarError, EOFError, OSError) as exc:
                    raise UnreadableFileError(f"{f.name}: not a valid tar.gz ({exc})") from exc
                out.append((f.name, None, f"- ({n} members)"))
            else:
                out.append((f.name, None, "-"))
        return out


def _differences(ds: Dataset, fname: str, layer: str, rows: int | None,
                 differs: set[str]) -> str:  # fmt: skip
    """How a checked file/layer differs from its registry entry ("" when it does not)."""
    entry = next((f for f in ds.files if f.name == fname), None)
    if entry is None:
        return ""
    why: list[str] = []
    expected = entry.expected_rows(layer)
    if expected is not None and rows is not None and rows != expected:
        why.append(f"{rows:,} rows, the registry has {expected:,}")
    if fname in differs:
        why.append("sha256 differs from the registry")
    return "; ".join(why)


def modified_inputs(data_dir: str | Path | None = None) -> list[str]:
    """Required registered files present in ``data_dir`` whose size or SHA-256 differ.

    The fast gate of ``accessmap score`` (a hash of each required file, no parsing): a
    required file cut at a line boundary reads without error but gives a wrong answer
    (issue 15: 3,097 GPs instead of 6,226), so a run refuses such files unless told.

    Returns
    -------
    list of str
        ``"<file> (<dataset>): <how it differs>"`` for each modified file, in registry order.
    """
    d = resolve_data_dir(data_dir)
    out: list[str] = []
    for ds in load_registry().values():
        if not ds.required:
            continue
        for f in ds.files:
            p = d / f.name
            if f.sha256 is None or not p.is_file():
                continue
            size = p.stat().st_size
            if f.size is not None and size != f.size:
                out.append(f"{f.name} ({ds.name}): {size:,} bytes, the registry has {f.size:,}")
            elif sha256_file(p) != f.sha256:
                out.append(f"{f.name} ({ds.name}): sha256 differs from the registry")
    return out


def _present_alternative(ds: Dataset, d: Path) -> str | None:
    """Name of a registered alternative of ``ds`` whose files are all present, if any."""
    names = ds.extra.get("alternatives") or []
    reg = load_registry()
    for name in names if isinstance(names, list) else []:
        alt = reg.get(str(name))
        if alt is not None and alt.files and all((d / f.name).is_file() for f in alt.files):
            return alt.name
    return None


def _join_rates(loaded: dict[str, Any]) -> list[JoinRate]:
    rates: list[JoinRate] = []
    c = loaded.get("communes")
    if c is not None:
        rates.append(
            JoinRate("communes with population", int((c["pop"] > 0).sum()), len(c), "pop > 0")
        )
        if "epci" in loaded:
            ok = c["epci_siren"].isin(set(loaded["epci"]["epci_siren"]))
            rates.append(JoinRate("communes with EPCI", int(ok.sum()), len(c)))
        if "origins" in loaded:
            ok = c["insee"].isin(set(loaded["origins"]["insee"]))
            rates.append(JoinRate("communes with a routing origin", int(ok.sum()), len(c)))
        if "age" in loaded:
            ok = c["insee"].isin(set(loaded["age"]["insee"]))
            rates.append(JoinRate("communes with RP 2021 age bands", int(ok.sum()), len(c)))
        known = set(c["insee"])
        if "gp_table" in loaded:
            t = loaded["gp_table"]
            ok = t["insee"].isin(known)
            rates.append(
                JoinRate("GP supply rows whose commune code is known", int(ok.sum()), len(t))
            )
            gp = loaded["gp_supply"]
            gp_ok = gp.loc[gp["insee"].isin(known), "count"].sum()
            rates.append(
                JoinRate("GPs (BPE 2019) in known communes", int(gp_ok), int(gp["count"].sum()))
            )
        if "grid" in loaded:
            rates.append(
                JoinRate(
                    "population grid total vs commune total",
                    float(loaded["grid"]["pop"].sum()),
                    float(c["pop"].sum()),
                    "grid 2010 vs population municipale 2023",
                )
            )
        if "hospitals" in loaded:
            ok = loaded["hospitals"]["insee"].isin(known)
            rates.append(JoinRate("hospitals whose commune is known", int(ok.sum()), len(ok)))
        if "centres" in loaded:
            ok = loaded["centres"]["insee"].isin(known)
            rates.append(JoinRate("health centres whose commune is known", int(ok.sum()), len(ok)))
    if "bpe_rows" in loaded and "code_map" in loaded:
        t = loaded["bpe_rows"]
        ok = normalise_codes(t["DEPCOM"]).isin(loaded["code_map"].index)
        rates.append(JoinRate("BPE rows mapped to COG 2026", int(ok.sum()), len(t), "France"))
        gp = t["TYPEQU"].isin(["D201", "D265"])
        rates.append(
            JoinRate(
                "BPE GP rows (D201/D265) mapped to COG 2026",
                int((ok & gp).sum()),
                int(gp.sum()),
                "France",
            )
        )
    return rates


def check_data(
    data_dir: str | Path | None = None,
    *,
    verify_checksums: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> CheckReport:
    """Read every registered dataset present in the data directory and compute join rates.

    Parameters
    ----------
    data_dir : str or Path, optional
        Data directory (see :func:`accessmap.data.registry.resolve_data_dir`).
    verify_checksums : bool, default True
        Compare files against the registry's SHA-256. A file whose SHA-256 or row count
        differs from the registry is ``"modified"``; for a required dataset that fails the
        check (row counts are compared even without checksums).
    progress : callable, optional
        ``progress(done, total)`` over datasets.

    Returns
    -------
    CheckReport
        ``rows`` (one per file / layer), ``join_rates``; ``ok`` is False when a required
        dataset is missing or broken (:meth:`CheckReport.raise_for_problems`).

    Examples
    --------
    >>> report = check_data("/path/to/data")  # doctest: +SKIP
    >>> report.ok, report.join_rates[0].rate  # doctest: +SKIP
    (True, 1.0)
    """
    d = resolve_data_dir(data_dir)
    report = CheckReport(d)
    checker = _Checker(d)
    datasets = [ds for ds in load_registry().values() if ds.kind != "package"]
    for i, ds in enumerate(datasets):
        present = [f for f in ds.files if (d / f.name).is_file()]
        alternative = _present_alternative(ds, d)
        if not present and alternative is not None:
            # e.g. the commune code map built from the official COG package.
            try:
                results = checker.read_alternative(ds)
            except Exception as exc:  # reported, the check goes on
                report.rows.append(
                    CheckRow(
                        ds.name,
                        ", ".join(f.name for f in ds.files),
                        None,
                        "-",
                        "broken",
                        ds.required,
                        f"built from {alternative}: {exc}",
                    )
                )
            else:
                for label, rows, crs in results:
                    report.rows.append(
                        CheckRow(
                            ds.name, label, rows, crs, f"ok (built from {alternative})", ds.required
                        )
                    )
            if progress is not None:
                progress(i + 1, len(datasets))
            continue
        if not present:
            if ds.required or ds.kind == "bundle":
                for f in ds.files:
                    report.rows.append(CheckRow(ds.name, f.name, None, "-", "missing", ds.required))
            if progress is not None:
                progress(i + 1, len(datasets))
            continue
        differs = {
            f.name
            for f in present
            if verify_checksums and f.sha256 is not None and sha256_file(d / f.name) != f.sha256
        }
        try:
            results = checker.read(ds)
        except Exception as exc:  # every failure is reported, the check goes on
            if not isinstance(exc, AccessmapError):
                logger.debug("check of %s failed", ds.name, exc_info=True)
                exc = UnreadableFileError(f"{type(exc).__name__}: {exc}")
            report.rows.append(
                CheckRow(
                    ds.name,
                    ", ".join(f.name for f in present),
                    None,
                    "-",
                    "broken",
                    ds.required,
                    str(exc),
                )
            )
        else:
            for label, rows, crs in results:
                fname, _, layer = label.partition(":")
                why = _differences(ds, fname, layer, rows, differs)
                status = "modified" if why else "ok"
                report.rows.append(CheckRow(ds.name, label, rows, crs, status, ds.required, why))
        for f in ds.files:
            if f not in present:
                report.rows.append(CheckRow(ds.name, f.name, None, "-", "missing", ds.required))
        if progress is not None:
            progress(i + 1, len(datasets))
    report.join_rates = _join_rates(checker.loaded)
    return report
