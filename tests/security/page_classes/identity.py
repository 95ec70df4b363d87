"""The classes of the identity pages added with the Bahasa Indonesia app (the first ones are in core.py)."""

from tests.security.page_classes.kinds import SIGNED_IN

PAGES = {
    ("POST", "/account/language"): SIGNED_IN,
}
