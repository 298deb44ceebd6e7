"""Events published by the cpd service (added with its issue)."""
