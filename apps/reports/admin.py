"""Admin pages of the reports: the ROPA, registers, statistics, dashboard, data map and
snapshots. Every page checks its permission (reports.view_ropa, reports.view_registers,
reports.view_dashboard); people who are not admin staff are sent to the admin login."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import AdminForm
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from apps.access.models import RequestStatus
from jitportal.admin_base import ReadOnlyModelAdmin
from jitportal.csp import csp_allow_inline_blocks
from jitportal.formats import datetime_display
from jitportal.inputs import parse_id

from . import renderers
from .approvals import approval_statistics, approval_tables
from .dashboard import dashboard_data
from .datamap import data_map_build, data_map_svg
from .forms import (
    ApprovalStatsForm,
    AssetRegisterForm,
    DataMapForm,
    SnapshotCompareForm,
    SnapshotTakeForm,
    UserRegisterForm,
)
from .models import Report, RopaSnapshot
from .privileges import KIND_LABELS, privileges_table, standing_privileges
from .registers import REGISTER_COLUMNS, access_register, register_table
from .ropa import ropa_build
from .services import ropa_snapshot_take
from .snapshots import ropa_diff, ropa_snapshot_document, ropa_snapshot_intact

VIEW_ROPA = "reports.view_ropa"
VIEW_REGISTERS = "reports.view_registers"
VIEW_DASHBOARD = "reports.view_dashboard"
REPORT_PERMS = (VIEW_ROPA, VIEW_REGISTERS, VIEW_DASHBOARD)
TABLE_FORMATS = ("csv", "xlsx", "json")


def _stamp() -> str:
    return timezone.localtime().strftime("%Y%m%d-%H%M")


def download(body: bytes, *, fmt: str, stem: str) -> HttpResponse:
    response = HttpResponse(body, content_type=renderers.CONTENT_TYPES.get(fmt, "image/svg+xml"))
    response["Content-Disposition"] = f'attachment; filename="{stem}-{_stamp()}.{fmt}"'
    return response


def table_download(
    *, fmt: str, stem: str, title: str, rows: list[list[Any]], about: str, json_doc: Any
) -> HttpResponse:
    if fmt == "csv":
        text = io.StringIO()
        renderers.write_csv(rows, text)
        return download(("\ufeff" + text.getvalue()).encode(), fmt="csv", stem=stem)
    if fmt == "xlsx":
        out = io.BytesIO()
        renderers.table_xlsx(title, rows[0], rows[1:], out, about=about)
        return download(out.getvalue(), fmt="xlsx", stem=stem)
    return download(renderers.to_json(json_doc).encode(), fmt="json", stem=stem)


def admin_form(form: forms.Form, model_admin: admin.ModelAdmin) -> AdminForm:
    """``form`` as the admin lays out its own forms: one fieldset of every field."""
    return AdminForm(
        cast(Any, form), [(None, {"fields": list(form.fields)})], {}, model_admin=model_admin
    )


@admin.register(Report)
class ReportAdmin(ReadOnlyModelAdmin):
    """The reports hub and every report page (the model has no rows)."""

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return any(request.user.has_perm(p) for p in REPORT_PERMS)

    def get_model_perms(self, request: HttpRequest) -> dict[str, bool]:
        return {"view": self.has_view_permission(request)}

    def get_urls(self):
        def view(fn: Callable, name: str, route: str):
            return path(route, self.admin_site.admin_view(fn), name=f"reports_{name}")

        return [
            view(self.dashboard_view, "dashboard", "dashboard/"),
            view(self.ropa_view, "ropa", "ropa/"),
            view(self.ropa_processor_view, "ropa_processor", "ropa/processor/"),
            view(self.ropa_print_view, "ropa_print", "ropa/print/"),
            view(self.asset_register_view, "asset_register", "registers/asset/"),
            view(self.user_register_view, "user_register", "registers/user/"),
            view(self.privileges_view, "privileges", "registers/standing-privileges/"),
            view(self.approvals_view, "approvals", "registers/approvals/"),
            view(self.datamap_view, "datamap", "data-map/"),
            # The hub is the "changelist"; the model has no table, so no other model URL.
            view(self.changelist_view, "report_changelist", ""),
        ]

    # --- helpers ----------------------------------------------------------------------------

    def _require(self, request: HttpRequest, perm: str) -> None:
        if not request.user.has_perm(perm):
            raise PermissionDenied

    def _context(self, request: HttpRequest, title: str, **extra: Any) -> dict[str, Any]:
        form = extra.get("form")
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "hub_url": reverse("admin:reports_report_changelist"),
            **({"adminform": admin_form(form, self)} if form is not None else {}),
            **extra,
        }

    # --- hub --------------------------------------------------------------------------------

    def changelist_view(self, request: HttpRequest, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        user = request.user
        sections = []
        if user.has_perm(VIEW_DASHBOARD):
            sections.append(
                (
                    _("Dashboard"),
                    [
                        (
                            _("Dashboard"),
                            "admin:reports_dashboard",
                            _("Grants, requests, reviews, purges at a glance"),
                        )
                    ],
                )
            )
        if user.has_perm(VIEW_ROPA):
            sections.append(
                (
                    _("Records of processing (Art. 30)"),
                    [
                        (
                            _("Controller record (ROPA)"),
                            "admin:reports_ropa",
                            _("Art. 30(1), with gaps and reviews due; XLSX, CSV, JSON, print"),
                        ),
                        (
                            _("Processor record"),
                            "admin:reports_ropa_processor",
                            _("Art. 30(2), activities where we act as processor"),
                        ),
                        (
                            _("ROPA snapshots"),
                            "admin:reports_ropasnapshot_changelist",
                            _("Frozen, dated copies with SHA-256; compare two dates"),
                        ),
                        (
                            _("Data map"),
                            "admin:reports_datamap",
                            _("Systems, assets, activities, recipients, transfers as a graph"),
                        ),
                    ],
                )
            )
        if user.has_perm(VIEW_REGISTERS):
            sections.append(
                (
                    _("Access registers"),
                    [
                        (
                            _("Register for a data asset"),
                            "admin:reports_asset_register",
                            _("Who held access when, why, who approved, which policy"),
                        ),
                        (
                            _("Register for a person"),
                            "admin:reports_user_register",
                            _("The same, across assets"),
                        ),
                        (
                            _("Standing privileges"),
                            "admin:reports_privileges",
                            _("Permissions outside grants: the creep JIT removes"),
                        ),
                        (
                            _("Approval statistics"),
                            "admin:reports_approvals",
                            _("Outcomes, time to decision, break-glass, early revocations"),
                        ),
                    ],
                )
            )
        if user.has_perm("audit.verify_auditevent") or user.has_perm("audit.export_auditevent"):
            links = []
            if user.has_perm("audit.verify_auditevent"):
                links.append(
                    (
                        _("Verify the audit chain"),
                        "admin:audit_auditevent_verify",
                        _("Tamper check of the hash chain"),
                    )
                )
            if user.has_perm("audit.export_auditevent"):
                links.append(
                    (
                        _("Export the audit trail"),
                        "admin:audit_auditevent_export",
                        _("JSON Lines or CSV, streamed"),
                    )
                )
            sections.append((_("Audit trail"), links))
        context = self._context(
            request,
            _("Reports and dashboard"),
            sections=[
                (name, [(label, reverse(url), help_text) for label, url, help_text in links])
                for name, links in sections
            ],
        )
        return TemplateResponse(request, "admin/reports/hub.html", context)

    # --- dashboard --------------------------------------------------------------------------

    def dashboard_view(self, request: HttpRequest) -> HttpResponse:
        self._require(request, VIEW_DASHBOARD)
        context = self._context(
            request,
            _("Dashboard"),
            data=dashboard_data(),
            can_ropa=request.user.has_perm(VIEW_ROPA),
            can_registers=request.user.has_perm(VIEW_REGISTERS),
        )
        return TemplateResponse(request, "admin/reports/dashboard.html", context)

    # --- the record of processing -----------------------------------------------------------

    def _ropa(self, request: HttpRequest, *, processor: bool) -> HttpResponse:
        self._require(request, VIEW_ROPA)
        fmt = request.GET.get("format", "")
        if fmt and fmt not in renderers.FORMATS:
            messages.error(
                request,
                _("Unknown format “%(format)s”: choose XLSX, CSV, JSON or HTML.") % {"format": fmt},
            )
            return HttpResponseRedirect(request.path)
        doc = ropa_build(processor=processor)
        if fmt:
            stem = "ropa-processor" if processor else "ropa"
            return download(renderers.render_ropa(doc, fmt), fmt=fmt, stem=stem)
        take_form = SnapshotTakeForm(initial={"record": doc["record"]})
        take_form.fields["record"].widget = forms.HiddenInput()
        context = self._context(
            request,
            doc["title"],
            doc=doc,
            rows=renderers.ropa_table(doc),
            processor=processor,
            can_snapshot=request.user.has_perm("reports.add_ropasnapshot"),
            take_form=AdminForm(
                cast(Any, take_form),
                [(_("Freeze a dated copy"), {"fields": ["record", "note"]})],
                {},
                model_admin=self,
            ),
        )
        return TemplateResponse(request, "admin/reports/ropa.html", context)

    def ropa_view(self, request: HttpRequest) -> HttpResponse:
        return self._ropa(request, processor=False)

    def ropa_processor_view(self, request: HttpRequest) -> HttpResponse:
        return self._ropa(request, processor=True)

    def ropa_print_view(self, request: HttpRequest) -> HttpResponse:
        self._require(request, VIEW_ROPA)
        doc = ropa_build(processor=request.GET.get("record") == "processor")
        response = HttpResponse(
            renderers.render_ropa(doc, "html"), content_type="text/html; charset=utf-8"
        )
        # A standalone document (also saved as a file): its own style and script, by hash.
        return csp_allow_inline_blocks(response)

    # --- registers --------------------------------------------------------------------------

    def _register(self, request: HttpRequest, *, by: str) -> HttpResponse:
        self._require(request, VIEW_REGISTERS)
        form_class = AssetRegisterForm if by == "asset" else UserRegisterForm
        form = form_class(request.GET or None)
        rows = None
        subject = None
        fmt = request.GET.get("format", "")
        if form.is_bound and form.is_valid():
            start, end = form.bounds()
            subject = form.cleaned_data[by]
            rows = access_register(
                start=start,
                end=end,
                now=timezone.now(),
                **({"asset_id": subject.pk} if by == "asset" else {"user_id": subject.pk}),
            )
            if fmt in TABLE_FORMATS:
                about = _(
                    "Access register for %(subject)s from %(start)s to %(end)s (inclusive), "
                    "generated %(at)s"
                ) % {
                    "subject": subject,
                    "start": form.cleaned_data["start"],
                    "end": form.cleaned_data["end"],
                    "at": datetime_display(timezone.now()),
                }
                return table_download(
                    fmt=fmt,
                    stem=f"access-register-{by}-{subject.pk}",
                    title=_("Access register"),
                    rows=list(register_table(rows)),
                    about=about,
                    json_doc={
                        "schema": "jitportal.access_register",
                        "schema_version": 1,
                        "subject": {"type": by, "id": subject.pk, "label": str(subject)},
                        "period": {"start": start.isoformat(), "end": end.isoformat()},
                        "generated_at": timezone.now().isoformat(),
                        "grants": rows,
                    },
                )
        context = self._context(
            request,
            _("Access register for a data asset")
            if by == "asset"
            else _("Access register for a person"),
            form=form,
            rows=rows,
            subject=subject,
            by=by,
            columns=REGISTER_COLUMNS,
            query=request.GET.urlencode(),
        )
        return TemplateResponse(request, "admin/reports/register.html", context)

    def asset_register_view(self, request: HttpRequest) -> HttpResponse:
        return self._register(request, by="asset")

    def user_register_view(self, request: HttpRequest) -> HttpResponse:
        return self._register(request, by="user")

    def privileges_view(self, request: HttpRequest) -> HttpResponse:
        self._require(request, VIEW_REGISTERS)
        now = timezone.now()
        findings = standing_privileges(now=now)
        fmt = request.GET.get("format", "")
        if fmt in TABLE_FORMATS:
            return table_download(
                fmt=fmt,
                stem="standing-privileges",
                title=_("Standing privileges"),
                rows=list(privileges_table(findings)),
                about=_("Permissions outside grants, found %(at)s") % {"at": datetime_display(now)},
                json_doc={
                    "schema": "jitportal.standing_privileges",
                    "schema_version": 1,
                    "generated_at": now.isoformat(),
                    "findings": findings,
                },
            )
        counts: dict[str, int] = {}
        for f in findings:
            counts[f["kind"]] = counts.get(f["kind"], 0) + 1
        context = self._context(
            request,
            _("Standing privileges"),
            findings=findings,
            kinds=[(k, label, counts.get(k, 0)) for k, label in KIND_LABELS.items()],
            labels=KIND_LABELS,
        )
        return TemplateResponse(request, "admin/reports/privileges.html", context)

    def approvals_view(self, request: HttpRequest) -> HttpResponse:
        self._require(request, VIEW_REGISTERS)
        form = ApprovalStatsForm(request.GET or {})
        stats = None
        if form.is_valid():
            start, end = form.bounds()
            stats = approval_statistics(start=start, end=end)
            fmt = request.GET.get("format", "")
            if fmt in TABLE_FORMATS:
                tables = approval_tables(stats)
                if fmt == "xlsx":
                    out = io.BytesIO()
                    renderers.tables_xlsx(
                        [
                            (_("Summary"), tables["summary"]),
                            (_("Per asset"), tables["per_asset"]),
                            (_("Per approver"), tables["per_approver"]),
                        ],
                        out,
                        about=_("Approval statistics %(start)s to %(end)s")
                        % {"start": form.cleaned_data["start"], "end": form.cleaned_data["end"]},
                    )
                    return download(out.getvalue(), fmt="xlsx", stem="approval-statistics")
                if fmt == "csv":
                    rows = [
                        *tables["summary"],
                        [],
                        *tables["per_asset"],
                        [],
                        *tables["per_approver"],
                    ]
                    text = io.StringIO()
                    renderers.write_csv(rows, text)
                    return download(
                        ("\ufeff" + text.getvalue()).encode(), fmt="csv", stem="approval-statistics"
                    )
                doc = {
                    "schema": "jitportal.approval_statistics",
                    "schema_version": 1,
                    **{k: v for k, v in stats.items() if k not in {"start", "end"}},
                    "period": {"start": start.isoformat(), "end": end.isoformat()},
                }
                return download(
                    renderers.to_json(doc).encode(), fmt="json", stem="approval-statistics"
                )
        context = self._context(
            request,
            _("Approval statistics"),
            form=form,
            stats=stats,
            outcomes=[
                (str(dict(RequestStatus.choices).get(code, code)), count)
                for code, count in (stats or {}).get("outcomes", {}).items()
            ],
            query=request.GET.urlencode(),
        )
        return TemplateResponse(request, "admin/reports/approvals.html", context)

    # --- data map ---------------------------------------------------------------------------

    def datamap_view(self, request: HttpRequest) -> HttpResponse:
        self._require(request, VIEW_ROPA)
        form = DataMapForm(request.GET or {})
        activity = None
        special_only = False
        if form.is_valid():
            activity = form.cleaned_data.get("activity")
            special_only = form.cleaned_data.get("special_only") or False
        dm = data_map_build(
            activity_id=activity.pk if activity else None, special_only=special_only
        )
        title = _("Data map: %(activity)s") % {"activity": activity} if activity else _("Data map")
        drawing = data_map_svg(dm, title=title)
        if request.GET.get("format") == "svg":
            response = HttpResponse(
                '<?xml version="1.0" encoding="UTF-8"?>\n' + drawing,
                content_type="image/svg+xml; charset=utf-8",
            )
            response["Content-Disposition"] = f'attachment; filename="data-map-{_stamp()}.svg"'
            return response
        context = self._context(
            request,
            title,
            form=form,
            drawing=drawing,
            node_count=len(dm.nodes),
            edge_count=len(dm.edges),
            query=request.GET.urlencode(),
        )
        return TemplateResponse(request, "admin/reports/datamap.html", context)


@admin.register(RopaSnapshot)
class RopaSnapshotAdmin(ReadOnlyModelAdmin):
    """Frozen copies of the ROPA: taken, read, downloaded, compared; never changed."""

    list_display = (
        "taken_at",
        "record",
        "taken_by_label",
        "activity_count",
        "gaps_total",
        "short_digest",
        "note",
    )
    list_filter = ("record",)
    date_hierarchy = "taken_at"

    @admin.display(description=gettext_lazy("SHA-256"))
    def short_digest(self, obj: RopaSnapshot) -> str:
        return obj.digest[:16] + "…"

    def get_queryset(self, request):
        return super().get_queryset(request).defer("content")

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm("reports.view_ropasnapshot") and request.user.has_perm(
            VIEW_ROPA
        )

    def get_urls(self):
        return [
            path(
                "take/",
                self.admin_site.admin_view(require_POST(self.take_view)),
                name="reports_ropasnapshot_take",
            ),
            path(
                "compare/",
                self.admin_site.admin_view(self.compare_view),
                name="reports_ropasnapshot_compare",
            ),
            path(
                "<int:pk>/download/",
                self.admin_site.admin_view(self.download_view),
                name="reports_ropasnapshot_download",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_take": request.user.has_perm("reports.add_ropasnapshot"),
        }
        return super().changelist_view(request, extra_context)

    def take_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("reports.add_ropasnapshot"):
            raise PermissionDenied
        form = SnapshotTakeForm(request.POST)
        if not form.is_valid():
            messages.error(
                request,
                _("The snapshot was not taken: %(errors)s")
                % {"errors": "; ".join(str(e) for errors in form.errors.values() for e in errors)},
            )
            return HttpResponseRedirect(reverse("admin:reports_ropasnapshot_changelist"))
        try:
            snapshot = ropa_snapshot_take(
                taken_by=cast(User, request.user),  # admin_view: signed in
                processor=form.cleaned_data["record"] == "processor",
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            messages.error(
                request,
                _("The snapshot was not taken: %(errors)s") % {"errors": "; ".join(exc.messages)},
            )
            return HttpResponseRedirect(reverse("admin:reports_ropasnapshot_changelist"))
        messages.success(
            request,
            _("Snapshot #%(id)s taken: SHA-256 %(digest)s.")
            % {"id": snapshot.pk, "digest": snapshot.digest},
        )
        return HttpResponseRedirect(
            reverse("admin:reports_ropasnapshot_change", args=[snapshot.pk])
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        snapshot_id = parse_id(str(object_id))
        if snapshot_id is None:
            raise Http404(_("No such snapshot."))
        snapshot = get_object_or_404(RopaSnapshot, pk=snapshot_id)
        doc = ropa_snapshot_document(snapshot)
        others = (
            RopaSnapshot.objects.filter(record=snapshot.record)
            .exclude(pk=snapshot.pk)
            .defer("content")[:50]
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": str(snapshot),
            "snapshot": snapshot,
            "doc": doc,
            "rows": renderers.ropa_table(doc),
            "intact": ropa_snapshot_intact(snapshot),
            "others": others,
            "formats": renderers.FORMATS,
        }
        return TemplateResponse(request, "admin/reports/snapshot_detail.html", context)

    def download_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        snapshot = get_object_or_404(RopaSnapshot, pk=pk)
        fmt = request.GET.get("format", "json")
        if fmt not in renderers.FORMATS:
            messages.error(
                request,
                _("Unknown format “%(format)s”: choose XLSX, CSV, JSON or HTML.") % {"format": fmt},
            )
            return HttpResponseRedirect(reverse("admin:reports_ropasnapshot_change", args=[pk]))
        if fmt == "json":
            # The stored content exactly as digested, so the digest can be checked on the file.
            body = json.dumps(
                snapshot.content, sort_keys=True, separators=(",", ":"), ensure_ascii=False
            ).encode()
        else:
            body = renderers.render_ropa(ropa_snapshot_document(snapshot), fmt)
        return download(body, fmt=fmt, stem=f"ropa-snapshot-{snapshot.pk}")

    def compare_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = SnapshotCompareForm(request.GET or None)
        diff = None
        if form.is_bound and form.is_valid():
            before = RopaSnapshot.objects.get(pk=form.cleaned_data["before"].pk)
            after = RopaSnapshot.objects.get(pk=form.cleaned_data["after"].pk)
            if before.taken_at > after.taken_at:
                before, after = after, before
            diff = ropa_diff(before.content, after.content)
            diff["before"], diff["after"] = before, after
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Compare two ROPA snapshots"),
            "form": form,
            "adminform": admin_form(form, self),
            "diff": diff,
        }
        return TemplateResponse(request, "admin/reports/snapshot_compare.html", context)
