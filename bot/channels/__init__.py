"""salesbot package."""
