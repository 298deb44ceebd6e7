"""Events published by the provision service (added with its issue)."""
