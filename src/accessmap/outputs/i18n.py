"""Languages of the outputs: message catalogues and number formats (French by default).

The report, the maps and the interactive map take every label, table header and sentence
from one catalogue per language, ``templates/messages_<lang>.toml`` (flat ``key = "text"``
with ``{name}`` placeholders filled by :meth:`Catalogue.t`), so that no user-facing string is
scattered in the code. French is the default: the report goes to a French regional
administration.

Number formats follow the language's usage (French: Imprimerie nationale, *Lexique des
règles typographiques*; the CLDR ``fr`` locale data agrees):

* French: thousands separated by a narrow no-break space (U+202F), decimal comma, a
  narrow no-break space before ``%``: ``6 124 653``, ``0,1 %``;
* English: ``6,124,653``, ``0.1%``.

Examples
--------
>>> fr = catalogue("fr")
>>> fr.num(6124653), fr.pct(0.000685, 1)
('6\\u202f124\\u202f653', '0,1\\u202f%')
>>> catalogue("en").num(6124653)
'6,124,653'
"""

from __future__ import annotations

import functools
import math
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

from accessmap.errors import ConfigError

__all__ = ["DEFAULT_LANG", "LANGS", "Catalogue", "catalogue"]

#: Languages with a catalogue; French first (the default).
LANGS: tuple[str, ...] = ("fr", "en")
DEFAULT_LANG = "fr"

NNBSP = "\u202f"  # narrow no-break space: French thousands separator and before "%"
DASH = "–"  # shown for a missing value


def _missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        return not math.isfinite(float(x))
    except (TypeError, ValueError):
        return True


@dataclass(frozen=True)
class Catalogue:
    """The messages and the number formats of one language.

    Attributes
    ----------
    lang : str
        ``"fr"`` or ``"en"``.
    messages : dict of str to str
        Key -> text with ``{name}`` placeholders.
    """

    lang: str
    messages: dict[str, str]

    def t(self, key: str, /, **values: Any) -> str:
        """The text of ``key`` with its placeholders filled.

        Raises
        ------
        ConfigError
            ``key`` is not in the catalogue (a missing translation is a bug, never shown
            as a raw key).
        """
        try:
            text = self.messages[key]
        except KeyError:
            raise ConfigError(
                f"message {key!r} missing from templates/messages_{self.lang}.toml: add it"
            ) from None
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        """Whether the catalogue has ``key``."""
        return key in self.messages

    def num(self, x: Any, digits: int = 0) -> str:
        """A number with the language's thousands and decimal separators (``–`` if missing)."""
        if _missing(x):
            return DASH
        text = f"{float(x):,.{digits}f}"
        if self.lang == "fr":
            text = text.replace(",", NNBSP).replace(".", ",")
        return "0" if text in ("-0", "-0,0", "-0.0") and digits == 0 else text

    def pct(self, share: Any, digits: int = 1) -> str:
        """A share (0-1) as a percentage: ``0,1 %`` in French, ``0.1%`` in English."""
        if _missing(share):
            return DASH
        value = self.num(100 * float(share), digits)
        return f"{value}{NNBSP}%" if self.lang == "fr" else f"{value}%"

    def minutes(self, x: Any, digits: int = 1) -> str:
        """Minutes with their unit: ``1,1 min``."""
        return DASH if _missing(x) else f"{self.num(x, digits)}{NNBSP}min"


def _check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ConfigError(f"unknown language {lang!r}: use one of {', '.join(LANGS)} (--lang)")
    return lang


@functools.cache
def catalogue(lang: str = DEFAULT_LANG) -> Catalogue:
    """The :class:`Catalogue` of ``lang`` (read once from ``templates/messages_<lang>.toml``).

    Raises
    ------
    ConfigError
        Unknown language.
    """
    _check_lang(lang)
    text = resources.files("accessmap.outputs") / "templates" / f"messages_{lang}.toml"
    data = tomllib.loads(text.read_text(encoding="utf-8"))
    return Catalogue(lang, {str(k): str(v) for k, v in data.items()})
