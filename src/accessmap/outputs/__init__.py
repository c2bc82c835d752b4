"""What a run leaves for its users: GeoPackage and CSV, QGIS styles, maps, the report.

* :mod:`~accessmap.outputs.atomic`: the one atomic writer (a file, or several files and
  folders as one unit); every stage that writes uses it;
* :mod:`~accessmap.outputs.geopackage`: the GeoPackage (layers, ``layer_styles``,
  ``run_metadata``) and its CSV copies, written as one unit by :func:`write_run`;
* :mod:`~accessmap.outputs.styles`: classes, colours, field aliases and QGIS styles shared by
  the GeoPackage, the PNG maps and the report;
* :mod:`~accessmap.outputs.maps`: A4 PNG maps and the interactive HTML map;
* :mod:`~accessmap.outputs.report`: the report (HTML, PDF).

Outputs read layers and tables as written (a ``ScoreResult`` or a GeoPackage); they never
recompute a figure. May import: :mod:`accessmap.errors`, :mod:`accessmap.config`,
:mod:`accessmap.supply` (kind labels), :mod:`accessmap.scoring` (criteria labels). Never
:mod:`accessmap.pipeline` or :mod:`accessmap.cli`.
"""
