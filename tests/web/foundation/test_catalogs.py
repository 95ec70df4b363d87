"""The shared words (menu, statuses, error pages) have Bahasa Indonesia translations; the catalogs parse."""

from __future__ import annotations

from polyflow.erp.pages import NAV
from polyflow.web import i18n
from polyflow.web.errors import DEFAULT_MESSAGES, TITLES
from polyflow.web.fmt import STATUS_LABELS


def test_menu_statuses_and_error_titles_are_translated():
    catalog = i18n.catalog("id")
    labels = [group for group, _ in NAV] + [label for _, items in NAV for label, _h, _p in items]
    labels += list(STATUS_LABELS.values()) + list(TITLES.values()) + list(DEFAULT_MESSAGES.values())
    missing = sorted({label for label in labels if label not in catalog})
    assert missing == []


def test_gettext_follows_the_requests_language():
    i18n.use_lang("id")
    assert i18n._("Stock") == "Stok"
    assert i18n._("Page %(n)s of %(total)s", n=2, total=3) == "Halaman 2 dari 3"
    i18n.use_lang("en")
    assert i18n._("Stock") == "Stock"
    i18n.use_lang("xx")  # unknown: the default
    assert i18n.current_lang() == i18n.DEFAULT_LANGUAGE
