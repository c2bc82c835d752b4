"""Access measures on plain tables: coverage, 2SFCA family, DREES APL, equity.

Every function takes pandas/numpy inputs, never geodata and never files:

* a *travel-time table* is the long DataFrame ``from_id, to_id, travel_time_min``
  (origins -> facilities, only the pairs within the cutoff, as returned by
  ``travel_time_matrix``);
* *demand* is a Series indexed by origin id (people, or age-standardised people);
* *supply* is a Series indexed by facility id (GPs, FTE, or consultations a year).

The catchment indices are computed on a ``scipy.sparse`` origins x facilities matrix, so a
national run (35,000 communes x 10,000 facilities, or 300,000 grid cells) is a few sparse
matrix-vector products. Methods, defaults and sources: ``docs/methods.md``.

Modules: :mod:`~accessmap.measures.tables` (time tables, checks),
:mod:`~accessmap.measures.coverage`, :mod:`~accessmap.measures.catchment` (2SFCA family),
:mod:`~accessmap.measures.apl` (DREES APL), :mod:`~accessmap.measures.equity`,
:mod:`~accessmap.measures.agreement` (ours vs an official indicator). Every public name is
re-exported here: ``from accessmap import measures; measures.apl(...)``.

May import: :mod:`accessmap.errors` only (no loaders, engines or geodata).

References
----------
.. [LW03] Luo W., Wang F. (2003). Measures of spatial accessibility to health care in a GIS
   environment: synthesis and a case study in the Chicago region. *Environment and Planning
   B* 30(6), 865-884. (2SFCA)
.. [LQ09] Luo W., Qi Y. (2009). An enhanced two-step floating catchment area (E2SFCA) method
   for measuring spatial accessibility to primary care physicians. *Health & Place* 15(4),
   1100-1107.
.. [W12] Wan N., Zou B., Sternberg T. (2012). A three-step floating catchment area method
   for analyzing spatial access to health services. *IJGIS* 26(6), 1073-1089. (3SFCA)
.. [DREES] Barlet M., Coldefy M., Collin C., Lucas-Gabrielli V. (2012). L'accessibilité
   potentielle localisée (APL) : une nouvelle mesure de l'accessibilité aux médecins
   généralistes libéraux. DREES/IRDES, *Études et Résultats* 795; and the DREES APL
   workbook (parameter sheet) summarised in ``docs/methods.md``.
"""

from accessmap.measures.apl import (
    APL_BANDS_DREES,
    APL_BANDS_ROUNDED,
    APL_CLASSES,
    CONSULTATIONS_PER_GP,
    DREES_AGE_WEIGHTS_2022,
    DREES_AGE_WEIGHTS_2023,
    FRANCE_AGE_STRUCTURE_2023,
    aggregate_age_weights,
    apl,
    apl_class,
    apl_shares,
    standardised_demand,
)
from accessmap.measures.catchment import (
    E2SFCA_BANDS,
    e2sfca,
    gravity_access,
    three_sfca,
    two_sfca,
)
from accessmap.measures.coverage import (
    coverage,
    nearest_flags,
    summarise_access,
    weighted_mean_time,
)
from accessmap.measures.equity import (
    gini,
    palma,
    share_under,
)
from accessmap.measures.tables import (
    validate_time_table,
)

__all__ = [
    "APL_BANDS_DREES",
    "APL_BANDS_ROUNDED",
    "APL_CLASSES",
    "CONSULTATIONS_PER_GP",
    "DREES_AGE_WEIGHTS_2022",
    "DREES_AGE_WEIGHTS_2023",
    "E2SFCA_BANDS",
    "FRANCE_AGE_STRUCTURE_2023",
    "aggregate_age_weights",
    "apl",
    "apl_class",
    "apl_shares",
    "coverage",
    "e2sfca",
    "gini",
    "gravity_access",
    "nearest_flags",
    "palma",
    "share_under",
    "standardised_demand",
    "summarise_access",
    "three_sfca",
    "two_sfca",
    "validate_time_table",
    "weighted_mean_time",
]
