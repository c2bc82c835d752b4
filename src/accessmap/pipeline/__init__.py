"""The main job: from open data to ranked zones and proposed sites (``accessmap score``).

:func:`run_score` chains the stages: load an :class:`~accessmap.area.Area`, compute travel
times with an engine (crow-fly everywhere; road network where a road file covers the area),
the access measures (nearest-GP time, coverage, E2SFCA, APL, equity), the zone scores and
the siting of new centres, and returns a :class:`ScoreResult` whose layers
:func:`accessmap.outputs.geopackage.to_geopackage` writes. Methods and sources: ``docs/methods.md``.

One module per stage, each a function returning a small dataclass:
:mod:`~accessmap.pipeline.times`, :mod:`~accessmap.pipeline.catchments`,
:mod:`~accessmap.pipeline.zones`, :mod:`~accessmap.pipeline.sites`,
:mod:`~accessmap.pipeline.isochrones`, :mod:`~accessmap.pipeline.summary`;
:mod:`~accessmap.pipeline.run` composes them; :mod:`~accessmap.pipeline.params` holds
:class:`ScoreParams` and :class:`ScoreResult`.

May import: every library stage (area, supply, traveltime, measures, scoring, siting, data,
loaders). Never :mod:`accessmap.cli` or :mod:`accessmap.outputs`.
"""

from accessmap.pipeline.params import ENGINES, Progress, ScoreParams, ScoreResult
from accessmap.pipeline.run import run_regions, run_score
from accessmap.pipeline.zones import read_zone_layer

__all__ = ["ENGINES", "Progress", "ScoreParams", "ScoreResult", "read_zone_layer",
           "run_regions", "run_score"]  # fmt: skip
