"""One module per kind of target, each registering its connector (registry.BUILTIN)."""
