"""Loaders: the data directory's files as clean, validated tables in EPSG:2154.

One module per source family:

* :mod:`~accessmap.loaders.admin`: the Occitanie bundle's communes, routing origins, EPCI,
  départements, census age bands, priority lists;
* :mod:`~accessmap.loaders.cog`: the commune code history (COG) and its mapping to 2026;
* :mod:`~accessmap.loaders.bpe`: INSEE BPE rows (any year), mapped to COG 2026;
* :mod:`~accessmap.loaders.finess`: FINESS establishments;
* :mod:`~accessmap.loaders.grid`: 1 km population grids;
* :mod:`~accessmap.loaders.supply`: GP, emergency, hospital and Ma Santé centre points;
* :mod:`~accessmap.loaders.france`: communes, origins and supply for any area of France;
* :mod:`~accessmap.loaders.common`: code patterns and small helpers shared by the above.

Every loader reads and checks its input through :mod:`accessmap.data.validate` and raises the
typed errors of :mod:`accessmap.errors`. The most used loaders are re-exported here.

May import: :mod:`accessmap.config`, :mod:`accessmap.errors`, :mod:`accessmap.geography`,
:mod:`accessmap.data`. Never the network, travel-time, measure or output stages.
"""

from accessmap.loaders.admin import (
    load_commune_origins,
    load_communes,
    load_departements,
    load_epci,
    load_population_by_age,
    load_priority_zones,
)
from accessmap.loaders.bpe import (
    UnmatchedCodeWarning,
    load_bpe,
    load_bpe_geolocated,
    load_commune_code_map,
    map_commune_codes,
)
from accessmap.loaders.finess import load_finess
from accessmap.loaders.grid import load_population_grid
from accessmap.loaders.supply import (
    load_emergency,
    load_gp_supply,
    load_health_centres,
    load_hospitals,
)

__all__ = [
    "UnmatchedCodeWarning",
    "load_bpe",
    "load_bpe_geolocated",
    "load_commune_code_map",
    "load_commune_origins",
    "load_communes",
    "load_departements",
    "load_emergency",
    "load_epci",
    "load_finess",
    "load_gp_supply",
    "load_health_centres",
    "load_hospitals",
    "load_population_by_age",
    "load_population_grid",
    "load_priority_zones",
    "map_commune_codes",
]
