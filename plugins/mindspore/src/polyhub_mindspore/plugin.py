"""Hook implementations (filled in below)."""
