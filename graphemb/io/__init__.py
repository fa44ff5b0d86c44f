"""Files in and out: one table reader (graphemb.io.tables), ids (graphemb.io.ids) and the
vector writers (graphemb.io.writers)."""
