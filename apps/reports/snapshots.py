"""Canonical JSON, digests and the comparison of two records of processing."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from .models import RopaSnapshot


def canonical_json(content: Any) -> bytes:
    """The bytes a snapshot's digest is taken over: keys sorted, no spaces, UTF-8."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def content_digest(content: Any) -> str:
    return hashlib.sha256(canonical_json(content)).hexdigest()


def ropa_snapshot_intact(snapshot: RopaSnapshot) -> bool:
    """Whether the stored content still matches the digest taken with it."""
    return content_digest(snapshot.content) == snapshot.digest


def ropa_snapshot_document(snapshot: RopaSnapshot) -> dict[str, Any]:
    """The frozen document, marked with the snapshot it comes from (for rendering)."""
    doc = copy.deepcopy(snapshot.content)
    doc["as_at"] = {
        "snapshot_id": snapshot.pk,
        "taken_at": snapshot.taken_at.isoformat(),
        "taken_by": snapshot.taken_by_label,
        "note": snapshot.note,
        "digest": snapshot.digest,
        "intact": ropa_snapshot_intact(snapshot),
    }
    return doc


def ropa_diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Activities added, removed and changed (field by field) between two documents."""
    labels = {c["key"]: c["label"] for c in after.get("columns", [])}
    labels.update(
        {c["key"]: c["label"] for c in before.get("columns", []) if c["key"] not in labels}
    )
    old = {a["id"]: a for a in before.get("activities", [])}
    new = {a["id"]: a for a in after.get("activities", [])}
    added = [_brief(new[i]) for i in sorted(new.keys() - old.keys(), key=lambda i: new[i]["name"])]
    removed = [
        _brief(old[i]) for i in sorted(old.keys() - new.keys(), key=lambda i: old[i]["name"])
    ]
    changed = []
    for pk in sorted(old.keys() & new.keys(), key=lambda i: new[i]["name"]):
        a, b = old[pk], new[pk]
        keys = list(dict.fromkeys([*a["values"], *b["values"]]))
        fields = [
            {
                "key": key,
                "label": labels.get(key, key),
                "before": a["values"].get(key, ""),
                "after": b["values"].get(key, ""),
            }
            for key in keys
            if a["values"].get(key, "") != b["values"].get(key, "")
        ]
        if fields:
            changed.append({**_brief(b), "fields": fields})
    old_header = {h["key"]: h.get("value", "") for h in before.get("header", [])}
    header = [
        {
            "key": f["key"],
            "label": f["label"],
            "before": old_header.get(f["key"], ""),
            "after": f["value"],
        }
        for f in after.get("header", [])
        if old_header.get(f["key"], "") != f["value"]
    ]
    return {
        "added": added,
        "removed": removed,
        "changed": changed,
        "header_changed": header,
        "unchanged": len(old.keys() & new.keys()) - len(changed),
    }


def _brief(activity: dict[str, Any]) -> dict[str, Any]:
    return {"id": activity["id"], "reference": activity["reference"], "name": activity["name"]}
