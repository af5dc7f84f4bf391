"""Admin forms of targets and bindings: each refused with the connector's own reasons
(the target's catalogue, the URL setting, the portal's rights there) before it is saved."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .models import Target, TargetBinding
from .registry import connector_class, kinds


class TargetForm(forms.ModelForm):
    kind = forms.ChoiceField(label=_("kind"), choices=())

    class Meta:
        model = Target
        fields = [
            "name",
            "kind",
            "url_setting",
            "authoritative",
            "account_prefix",
            "enabled",
            "options",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = kinds()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        cls = connector_class(data.get("kind", ""))
        if cls is None or self.errors:
            return data
        if data.get("enabled") or not self.instance.pk:
            probe = Target(**{k: v for k, v in data.items() if k in self.Meta.fields})
            for problem in cls(probe).check_target():
                self.add_error(
                    problem.field if problem.field in self.fields else None, problem.message
                )
        return data


class TargetBindingForm(forms.ModelForm):
    class Meta:
        model = TargetBinding
        fields = ["target", "asset", "schema", "tables", "privileges", "options"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        target = data.get("target")
        if target is None or self.errors:
            return data
        cls = connector_class(target.kind)
        if cls is None:
            self.add_error(
                "target",
                gettext("No connector serves targets of kind “%(kind)s”.") % {"kind": target.kind},
            )
            return data
        probe = TargetBinding(
            target=target,
            asset=data.get("asset"),
            schema=data.get("schema") or "",
            tables=data.get("tables") if data.get("tables") is not None else [],
            privileges=data.get("privileges") or {},
            options=data.get("options") or {},
        )
        for problem in cls(target).check_binding(probe):
            self.add_error(problem.field if problem.field in self.fields else None, problem.message)
        return data
