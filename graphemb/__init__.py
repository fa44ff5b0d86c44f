"""graphemb: item embeddings from behaviour logs via random walks and word2vec.

Every CLI verb is a function here with the same name (dashes become underscores):
``graphemb.build_graph``, ``walk``, ``train``, ``export``, ``run``, ``status``, ``similar``,
``user_vectors``, ``recommend``, ``plot``; ``walk_on_spark`` runs sharded walks as one Spark
job; the ``evaluate`` group is the module
``graphemb.evaluate``
(``link_prediction``, ``node_classification``, ``next_item``). ``graphemb.ItemVectors`` holds a
workspace's vectors as one object (most_similar, to_keyed_vectors, save/load).
"""
__version__ = "0.1.0"

# name -> module that defines it; imported on first use, so that `import graphemb.walks` (e.g.
# in a worker process that only walks) does not pull in pyarrow, pandas and gensim.
_API = {
    "build_graph": "pipeline", "walk": "pipeline", "train": "pipeline", "export": "pipeline",
    "run": "pipeline", "load_graph": "pipeline", "load_walks": "pipeline",
    "load_vectors": "pipeline", "ItemVectors": "vectors", "status": "freshness",
    "similar": "vectors", "user_vectors": "recommendation", "recommend": "recommendation",
    "plot": "plotting", "walk_on_spark": "distributed", "GraphembError": "errors",
}

__all__ = [*_API, "evaluate", "__version__"]


def __getattr__(name):
    import importlib
    if name == "evaluate":
        return importlib.import_module(".evaluate", __name__)
    if name in _API:
        # No submodule is named like a verb, so nothing can shadow these afterwards.
        return getattr(importlib.import_module("." + _API[name], __name__), name)
    raise AttributeError(f"module 'graphemb' has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *__all__})
