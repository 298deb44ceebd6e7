"""The platform kit every service stands on (DESIGN.md §2)."""
