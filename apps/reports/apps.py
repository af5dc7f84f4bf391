from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

_READ = ["reports.view_ropa", "reports.view_registers", "reports.view_dashboard"]


class ReportsConfig(AppConfig):
    name = "apps.reports"
    label = "reports"
    verbose_name = _("Reports and registers")
    # The ROPA, registers and exports are for the DPO and auditors; approvers get the
    # dashboard. Only the DPO freezes snapshots.
    group_permissions = {
        "DPO": [*_READ, "reports.view_ropasnapshot", "reports.add_ropasnapshot"],
        "Auditors": [*_READ, "reports.view_ropasnapshot"],
        "Approvers": ["reports.view_dashboard"],
    }
