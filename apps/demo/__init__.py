"""The demo organisation: every app's demo data and the ``load_demo`` command.

This app sits at the top of the dependency graph: it may import any app, and no app imports
it (docs/architecture.md, "The dependency rule"). It has no models.
"""
