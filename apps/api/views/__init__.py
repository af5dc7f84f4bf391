"""The API's endpoints, by subject: ``mine`` (what I may ask for, my requests and grants),
``decisions`` (the approver's queue, grants, revoke), ``records`` (inventory, the record of
processing, access registers, the audit trail)."""
