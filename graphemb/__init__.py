"""graphemb: item embeddings from behaviour logs via random walks and word2vec."""
__version__ = "0.1.0"

__all__ = ["GraphembError", "build_graph", "walk", "train", "export", "run", "load_graph",
           "load_walks", "load_vectors", "__version__"]


def __getattr__(name):
    # Imported on first use, so that `import graphemb.walks` (e.g. in a worker process that
    # only walks) does not pull in pyarrow, pandas and gensim.
    if name == "GraphembError":
        from .errors import GraphembError
        return GraphembError
    if name in __all__:
        from . import pipeline
        # No submodule is named like a verb, so nothing can shadow these afterwards.
        return getattr(pipeline, name)
    raise AttributeError(f"module 'graphemb' has no attribute {name!r}")
