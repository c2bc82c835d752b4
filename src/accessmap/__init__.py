"""accessmap: measure medical deserts from open data.

The public API is flat: import what you need from ``accessmap``.
"""

from __future__ import annotations

__version__ = "0.1.0"

from accessmap.errors import (
    AccessmapError,
    BadValueError,
    ConfigError,
    CRSError,
    CRSMismatchError,
    DataNotFoundError,
    DuplicateIdError,
    EmptyLayerError,
    FetchError,
    InvalidGeometryError,
    MissingColumnError,
    MissingCRSError,
    NetworkBuildError,
    OutputExistsError,
    SnapDistanceError,
    UnknownCodeError,
    UnknownProfileError,
    UnreadableFileError,
)

__all__ = [
    "AccessmapError",
    "BadValueError",
    "CRSError",
    "CRSMismatchError",
    "ConfigError",
    "DataNotFoundError",
    "DuplicateIdError",
    "EmptyLayerError",
    "FetchError",
    "InvalidGeometryError",
    "MissingCRSError",
    "MissingColumnError",
    "NetworkBuildError",
    "OutputExistsError",
    "SnapDistanceError",
    "UnknownCodeError",
    "UnknownProfileError",
    "UnreadableFileError",
    "__version__",
]
