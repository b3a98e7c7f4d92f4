"""Small template helpers for the patient pages."""

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from ..pages import words

register = template.Library()

_EMERGENCY = re.compile(r"\b999\b")


@register.filter
def emergency_links(text: str) -> str:
    """Make '999' in advice text a tap-to-call link (the text itself is escaped)."""
    return mark_safe(_EMERGENCY.sub('<a href="tel:999">999</a>', escape(text)))  # noqa: S308


@register.filter(name="brand_name")
def brand_name_filter(brand: str) -> str:
    return words.brand_name(brand or "")


@register.filter(name="brand_note")
def brand_note_filter(brand: str) -> str:
    return words.brand_note(brand or "")
