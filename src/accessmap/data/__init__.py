"""The data directory: the dataset registry, explicit downloads, checks, input validation.

* :mod:`~accessmap.data.registry`: ``sources.toml`` (publisher, URL, licence, attribution,
  checksums of every dataset) and the data-directory setting (``--data-dir``, then
  ``$ACCESSMAP_DATA_DIR``, then the user cache directory);
* :mod:`~accessmap.data.fetch`: ``accessmap data fetch NAME`` (the only code that downloads);
* :mod:`~accessmap.data.check`: ``accessmap data check`` (read every dataset, join rates);
* :mod:`~accessmap.data.validate`: the typed input checks every loader uses (files, columns,
  CRS, geometries, codes, numbers).

May import: :mod:`accessmap.config`, :mod:`accessmap.errors`; :mod:`~accessmap.data.check`
also reads through :mod:`accessmap.loaders` and :mod:`accessmap.network.formats`.
"""
