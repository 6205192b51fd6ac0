"""polyhub-oci: OCI registries as a model source, a push target and a blob tier."""
