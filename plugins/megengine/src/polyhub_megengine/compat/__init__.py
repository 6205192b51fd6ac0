"""Drop-in replacements for upstream clients (``from polyhub_megengine.compat import hub``)."""
