"""Admin actions that call services, each behind a confirmation page that asks for a reason where the
domain needs one. Errors from the services are shown to the officer, never swallowed."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ObjectDoesNotExist
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clearance.errors import DomainError


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        min_length=3,
        max_length=1000,
    )


def confirm_and_apply(
    modeladmin, request, queryset, *, title: str, apply, form_class=ReasonForm, form_kwargs: dict | None = None
):
    """Show the confirmation page; on confirmation call ``apply(obj, form.cleaned_data)`` for each
    selected object and report what happened."""
    form_kwargs = form_kwargs or {}
    if request.POST.get("confirmed") == "yes":
        form = form_class(request.POST, **form_kwargs)
        if form.is_valid():
            done = 0
            for obj in queryset:
                try:
                    apply(obj, form.cleaned_data)
                    done += 1
                except (DomainError, ObjectDoesNotExist) as error:
                    modeladmin.message_user(request, f"{obj}: {getattr(error, 'detail', error)}", messages.ERROR)
            if done:
                modeladmin.message_user(
                    request, _("%(title)s: %(count)d done.") % {"title": title, "count": done}, messages.SUCCESS
                )
            return None
    else:
        form = form_class(**form_kwargs)
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "objects": queryset,
        "form": form,
        "action": request.POST.get("action"),
        "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
        "opts": modeladmin.model._meta,
    }
    return TemplateResponse(request, "admin/clearance/confirm_action.html", context)
