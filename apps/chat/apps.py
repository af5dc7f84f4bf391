from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChatConfig(AppConfig):
    """Approvals from Slack: messages to approvers, the interactive endpoint (docs/slack.md).

    Imports access (the decision services and selectors), inventory (an admin widget) and
    audit; no app imports it.
    """

    name = "apps.chat"
    label = "chat"
    verbose_name = _("Chat approvals")
    # The DPO links portal accounts to Slack users; everyone else only reads.
    group_permissions = {
        "DPO": [
            "chat.view_slackaccount",
            "chat.add_slackaccount",
            "chat.change_slackaccount",
            "chat.delete_slackaccount",
            "chat.view_slackmessage",
        ],
        "Auditors": ["chat.view_slackaccount", "chat.view_slackmessage"],
    }

    def ready(self) -> None:
        from auditlog.registry import auditlog
        from django.db.models.signals import post_save

        from apps.access.models import Notice

        from .models import SlackAccount
        from .signals import notice_saved

        # A notice about a request (written with its decision, apps.access.outbox) queues
        # the Slack side after commit: the messages to its approvers or their update.
        post_save.connect(notice_saved, sender=Notice, dispatch_uid="chat.notice_saved")
        # People link accounts in the admin: field-level history of those edits.
        auditlog.register(SlackAccount)
