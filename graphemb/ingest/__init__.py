"""From input files to coded edges, the graph stage's input: behaviour logs sessionized in
memory (graphemb.ingest.sessions) or in SQL (graphemb.ingest.sql), and graphs given as edges
(graphemb.ingest.edges)."""
