"""Every string the pages show has its Bahasa Indonesia translation.

The msgids are extracted the way a translator's tools would: Babel's Jinja2 extractor over every template and
Babel's Python extractor (keywords `_`, `gettext`, `ngettext`) over the modules under src/polyflow that use the
web translations. Each one must be in the merged `id` catalog (`polyflow.web.i18n.catalog("id")`), except strings
with no letter at all ("%(n)s", "—"). The catalogs themselves must parse, and two areas must not translate the
same msgid differently (the merge would silently keep one of them).
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.pofile import read_po

import polyflow
from polyflow.web import i18n

SRC = Path(polyflow.__file__).parent
TEMPLATES = SRC / "web" / "templates"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}
# A module takes part when it imports the web translations (other modules may use `_` for something else).
USES_I18N = re.compile(r"from polyflow\.web\.i18n import|from polyflow\.web import [^\n]*\bi18n\b|\bi18n\.(_|gettext)\(")


def _where(path: Path, lineno: int) -> str:
    return f"{path.relative_to(SRC)}:{lineno}"


def template_messages() -> dict[str, list[str]]:
    """msgid -> where it is used, from every template (Babel's jinja2 extractor, i18n extension, newstyle)."""
    found: dict[str, list[str]] = defaultdict(list)
    options = {"**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true", "trimmed": "false"}}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            TEMPLATES, method_map=[("**.html", "jinja2.ext:babel_extract")], options_map=options, keywords=KEYWORDS):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found[msgid].append(_where(TEMPLATES / filename, lineno))
    return found


def python_messages() -> dict[str, list[str]]:
    """msgid -> where it is used, from the modules under src/polyflow that use the web translations."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if "_(" not in text and "gettext(" not in text or not USES_I18N.search(text):
            continue
        for lineno, message, _comments, _context in extract_from_file("python", path, keywords=KEYWORDS):
            msgid = message[0] if isinstance(message, tuple) else message
            if msgid:
                found[msgid].append(_where(path, lineno))
    return found


def untranslated() -> dict[str, list[str]]:
    """Every extracted msgid with letters and no `id` translation, with where it is used."""
    catalog = i18n.catalog("id")
    missing: dict[str, list[str]] = defaultdict(list)
    for source in (template_messages(), python_messages()):
        for msgid, places in source.items():
            if re.search(r"[^\W\d_]", msgid) and msgid not in catalog:
                missing[msgid].extend(places)
    return missing


def _area(place: str) -> str:
    """'erp/sales/pages.py:12' -> 'erp/sales'; 'web/templates/tenant/sales/x.html:3' -> 'tenant/sales'."""
    parts = place.split(":")[0].split("/")
    if parts[:2] == ["web", "templates"]:
        parts = parts[2:]
    return "/".join(parts[:2]) if len(parts) > 2 else parts[0]


def test_the_extraction_finds_the_pages_strings():
    # A control: the extractors see both kinds of source (else an empty extraction would pass).
    templates, python = template_messages(), python_messages()
    assert "Sign in" in templates and "Your account" in templates
    assert any(place.startswith("erp/identity/pages/") for places in python.values() for place in places)
    assert "The two passwords differ." in python


def test_every_page_string_has_a_bahasa_indonesia_translation():
    missing = untranslated()
    by_area: dict[str, list[str]] = defaultdict(list)
    for msgid, places in sorted(missing.items()):
        by_area[_area(places[0])].append(f"  {msgid!r}  ({', '.join(sorted(set(places))[:3])})")
    report = "\n".join(f"{area} ({len(lines)}):\n" + "\n".join(lines) for area, lines in sorted(by_area.items()))
    assert not missing, f"{len(missing)} strings have no Bahasa Indonesia translation:\n{report}"


def test_the_catalogs_parse_and_agree_with_each_other():
    folder = i18n.LOCALE_DIR / "id" / "LC_MESSAGES"
    files = sorted(folder.glob("*.po"))
    assert files, "no catalog in web/locale/id/LC_MESSAGES"
    seen: dict[str, tuple[str, str]] = {}
    clashes, placeholders = [], []
    for path in files:
        with path.open("rb") as fh:
            po = read_po(fh, locale="id")  # raises on a file that does not parse
        for message in po:
            if not message.id:
                continue
            msgid = message.id[0] if isinstance(message.id, (list, tuple)) else message.id
            text = message.string[0] if isinstance(message.string, (list, tuple)) else message.string
            if not text:
                continue
            # The same %(name)s values on both sides (else the page raises KeyError or drops a figure).
            if sorted(re.findall(r"%\((\w+)\)s", msgid)) != sorted(re.findall(r"%\((\w+)\)s", text)):
                placeholders.append(f"{path.name}: {msgid!r} -> {text!r}")
            if msgid in seen and seen[msgid][1] != text:
                clashes.append(f"{msgid!r}: {seen[msgid][0]} says {seen[msgid][1]!r}, {path.name} says {text!r}")
            seen.setdefault(msgid, (path.name, text))
    assert not clashes, "one msgid, two translations:\n" + "\n".join(clashes)
    assert not placeholders, "placeholders differ between msgid and translation:\n" + "\n".join(placeholders)
