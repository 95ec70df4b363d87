"""Translations of the web pages: Bahasa Indonesia and English.

The message ids are the English text; Bahasa Indonesia comes from gettext catalogs, one per area of the app, in
``web/locale/id/LC_MESSAGES/<area>.po``. They are read with Babel when first needed and merged (no compiled .mo
files to keep in step). The language of a request lives in a context variable set by the page plumbing (the
signed-in user's choice, else the workspace's default, else Bahasa Indonesia), so `_()` works the same in page
code and in templates (``{{ _("Stock") }}``, ``{% trans %}``).
"""

from __future__ import annotations

import contextvars
from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

LANGUAGES = {"id": "Bahasa Indonesia", "en": "English"}
DEFAULT_LANGUAGE = "id"
LOCALE_DIR = Path(__file__).parent / "locale"
BABEL_LOCALES = {"id": "id_ID", "en": "en_US"}

_lang: contextvars.ContextVar[str] = contextvars.ContextVar("polyflow_lang", default=DEFAULT_LANGUAGE)


def current_lang() -> str:
    return _lang.get()


def use_lang(lang: str | None) -> str:
    """Make `lang` (if known, else the default) this request's language; returns the one chosen."""
    chosen = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    _lang.set(chosen)
    return chosen


def babel_locale() -> str:
    return BABEL_LOCALES[current_lang()]


@lru_cache(maxsize=None)
def catalog(lang: str) -> dict[str, str | tuple[str, ...]]:
    """Every translated message of `lang`: msgid -> text (or, for plurals, the tuple of forms)."""
    out: dict[str, str | tuple[str, ...]] = {}
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    for path in sorted(folder.glob("*.po")) if folder.is_dir() else ():
        with path.open("rb") as fh:
            po = read_po(fh, locale=lang)
        for message in po:
            if not message.id or message.fuzzy:
                continue
            key = message.id[0] if isinstance(message.id, (list, tuple)) else message.id
            value = message.string
            if isinstance(value, (list, tuple)):
                if all(value):
                    out.setdefault(key, tuple(value))
            elif value:
                out.setdefault(key, value)
    return out


def gettext(message: str) -> str:
    lang = current_lang()
    if lang == "en":
        return message
    found = catalog(lang).get(message)
    if isinstance(found, tuple):
        return found[0]
    return found or message


def ngettext(singular: str, plural: str, n: int) -> str:
    lang = current_lang()
    if lang != "en":
        found = catalog(lang).get(singular)
        if isinstance(found, tuple):
            return found[0]  # Indonesian has one form
        if isinstance(found, str):
            return found
    return singular if n == 1 else plural


def _(message: str, **values) -> str:
    """The translation of `message` in this request's language, with %(name)s values filled in."""
    text = gettext(message)
    return text % values if values else text


def lazy_choices(pairs):
    """(value, English label) pairs -> (value, translated label), translated now."""
    return [(value, gettext(label)) for value, label in pairs]
