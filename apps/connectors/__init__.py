"""Connectors: the accounts a grant opens in other systems (databases, applications), made at
activation and removed at the end (docs/connectors.md)."""
