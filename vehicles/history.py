"""Reference data keeps its history: who changed what, when, and why (django-simple-history).

Models of reference data carry ``history = HistoricalRecords()``; their admin pages use
``ReasonedHistoryAdmin``, which asks for the reason of every change and shows the history, so a decision
can be explained later with the rules in force at its time (``Model.history.as_of(moment)``).
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin


class ReasonForm(forms.ModelForm):
    change_reason = forms.CharField(
        label=_("Reason for this change"),
        min_length=3,
        max_length=100,
        help_text=_("Kept in the history with your name and the time."),
    )


class ReasonedHistoryAdmin(SimpleHistoryAdmin):
    """A change is saved only with its reason; the history page lists every version."""

    form = ReasonForm

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if "change_reason" not in form.base_fields:  # a ModelAdmin with its own form class
            form = type(form.__name__, (ReasonForm, form), {})
        return form

    def save_model(self, request, obj, form, change):
        obj._change_reason = form.cleaned_data["change_reason"]
        super().save_model(request, obj, form, change)
