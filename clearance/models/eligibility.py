"""Which goods may use the smart lanes: data, like the Móng Cái – Đông Hưng decision (164/QĐ-TTg, 2026)
that names agricultural produce, frozen seafood and electronics, with traditional lanes kept alongside."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class SmartLaneGoodsGroup(models.Model):
    """A goods group eligible for the smart lanes, by HS chapters (2 digits) and headings (4 digits). A
    crossing is eligible when every goods line falls in an active group."""

    name = models.CharField(_("goods group"), max_length=100, unique=True)
    hs_prefixes = models.JSONField(
        _("HS chapters and headings"),
        default=list,
        help_text=_('A list of 2-digit chapters or 4-digit headings, e.g. ["07", "08", "0303"].'),
    )
    is_active = models.BooleanField(_("active"), default=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("smart-lane goods group")
        verbose_name_plural = _("smart-lane goods groups")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        prefixes = self.hs_prefixes
        valid = RegexValidator(r"^([0-9]{2}|[0-9]{4})$")
        if not isinstance(prefixes, list) or not prefixes:
            raise ValidationError({"hs_prefixes": _("Give a list of at least one 2-digit chapter or 4-digit heading.")})
        for prefix in prefixes:
            try:
                valid(prefix if isinstance(prefix, str) else "")
            except ValidationError:
                raise ValidationError(
                    {"hs_prefixes": _("%(value)s is not a 2-digit chapter or a 4-digit heading.") % {"value": prefix}}
                ) from None

    def covers(self, hs_code: str) -> bool:
        return any(hs_code.startswith(prefix) for prefix in self.hs_prefixes)
