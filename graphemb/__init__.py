"""graphemb: item embeddings from behaviour logs via random walks and word2vec."""
__version__ = "0.1.0"

from .errors import GraphembError  # noqa: E402
from .pipeline import build_graph, export, load_graph, load_vectors, load_walks, run, train, walk  # noqa: E402

__all__ = ["GraphembError", "build_graph", "walk", "train", "export", "run", "load_graph",
           "load_walks", "load_vectors", "__version__"]
