"""pytest plugin entry (filled in below)."""
