"""The platform kit every service stands on (docs/architecture.md, "Layout")."""
