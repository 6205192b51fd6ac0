"""polyhub-folder: a folder of models described by ``index.yaml``, as a polyhub source."""
