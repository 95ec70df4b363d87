"""What every tenant page demands, merged from one module per area (so areas never edit one shared table):
each module here defines PAGES {(method, path): PUBLIC | SIGNED_IN | "<module>.<action>"} and may define FORMS
{path: a valid-looking form for a guarded POST} (reaching the service proves the permission check passed)."""

from __future__ import annotations

import importlib
import pkgutil

from tests.security.page_classes.kinds import PUBLIC, SIGNED_IN

PAGES: dict[tuple[str, str], str] = {}
FORMS: dict[str, dict[str, str]] = {}
for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name == "kinds":
        continue
    _module = importlib.import_module(f"{__name__}.{_info.name}")
    for _key, _value in getattr(_module, "PAGES", {}).items():
        assert _key not in PAGES, f"{_key} is classified twice ({_info.name})"
        PAGES[_key] = _value
    FORMS.update(getattr(_module, "FORMS", {}))

__all__ = ["FORMS", "PAGES", "PUBLIC", "SIGNED_IN"]
