"""Drop-in replacements for upstream clients, backed by polyhub."""
