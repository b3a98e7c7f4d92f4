"""The accessible form pattern shared by the patient pages and the nurse dashboard: each
error message is linked to its field for screen readers (aria-invalid plus
aria-describedby pointing at the message next to the field), a service's per-field
messages land next to the fields they are about, and the page can show a summary of every
error at the top with links to the fields."""

from __future__ import annotations

from collections.abc import Mapping

from django import forms
from django.core.exceptions import ValidationError


class AccessibleForm(forms.Form):
    # A service's name for a field -> this form's name for it, where they differ.
    service_fields: Mapping[str, str] = {}
    # Suffix of the id of a field's help text in the templates that render this form
    # ("_helptext" is Django's own; the nurse dashboard's templates use "-hint").
    help_text_id_suffix = "_helptext"

    def error_id(self, name: str) -> str:
        return f"{self[name].auto_id}-error"

    def help_text_id(self, name: str) -> str:
        return f"{self[name].auto_id}{self.help_text_id_suffix}"

    def link_errors(self) -> None:
        for name in self.errors:
            if name not in self.fields:
                continue
            attrs = self.fields[name].widget.attrs
            attrs["aria-invalid"] = "true"
            described = [self.error_id(name)]
            if self.fields[name].help_text:
                # Setting aria-describedby stops Django adding its help-text id: keep it.
                described.append(self.help_text_id(name))
            attrs["aria-describedby"] = " ".join(described)

    def add_service_errors(self, error: ValidationError) -> None:
        """Put a service's per-field messages next to the fields they are about."""
        if not hasattr(error, "error_dict"):
            for message in error.messages:
                self.add_error(None, message)
        else:
            for key, messages in error.message_dict.items():
                name = self.service_fields.get(key, key)
                for message in messages:
                    self.add_error(name if name in self.fields else None, message)
        self.link_errors()

    def error_summary(self) -> list[tuple[str, str]]:
        """(anchor, message) for the summary at the top of the page, in field order."""
        items = [("", message) for message in self.non_field_errors()]
        for name, field in self.fields.items():
            for message in self.errors.get(name, []):
                anchor = self[name].auto_id
                if isinstance(field.widget, forms.RadioSelect):
                    anchor = f"{anchor}_0"
                items.append((anchor, message))
        return items
