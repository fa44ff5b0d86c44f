"""Word2vec (gensim) on the walk corpus."""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from .corpus import write_corpus
from ..options import TRAIN
from ..progress import progress


class _EpochProgress:
    """gensim callback: advance a progress bar once per epoch."""

    def __init__(self, bar):
        self.bar = bar

    def on_epoch_end(self, model):
        self.bar.update(1)

    def on_epoch_begin(self, model):
        pass

    def on_train_begin(self, model):
        pass

    def on_train_end(self, model):
        pass


T = TRAIN.defaults


def train_word2vec(walk_arrays, num_nodes: int, workdir_tmp: Path, *, dim: int = T.dim,
                   window: int = T.window, epochs: int = T.epochs, negative: int = T.negative,
                   sg: bool = T.sg, hs: bool = T.hs, ns_exponent: float = T.ns_exponent,
                   sample: float = T.sample, min_count: int = T.min_count,
                   alpha: float = T.alpha, workers: int | None = None, seed: int = T.seed,
                   on_rows=None, quiet: bool = True):
    """Train gensim Word2Vec on walks; return (vectors[num_nodes, dim], has_vector, model).

    Nodes that never occur in the walks (or fall under min_count) get a zero row and
    has_vector False. The corpus file is written next to the output and removed after.
    """
    from gensim.models import Word2Vec

    logging.getLogger("gensim").setLevel(logging.WARNING)
    corpus = Path(workdir_tmp) / "corpus.txt"
    counts, n_walks = write_corpus(walk_arrays, corpus, num_nodes, on_rows=on_rows)
    workers = workers or os.cpu_count() or 1
    model = Word2Vec(vector_size=dim, window=window, min_count=min_count, sg=int(sg), hs=int(hs),
                     negative=negative, ns_exponent=ns_exponent, sample=sample, alpha=alpha,
                     seed=seed, workers=workers, epochs=epochs)
    present = np.flatnonzero(counts)
    # Vocabulary from counts we already have: gensim would otherwise re-read the corpus in Python.
    model.build_vocab_from_freq({str(i): int(counts[i]) for i in present}, corpus_count=n_walks)
    with progress(epochs, "train", quiet, unit="epoch") as bar:
        model.train(corpus_file=str(corpus), total_examples=n_walks,
                    total_words=int(counts.sum()), epochs=epochs,
                    callbacks=[_EpochProgress(bar)])
    corpus.unlink()
    vectors = np.zeros((num_nodes, dim), dtype=np.float32)
    has_vector = np.zeros(num_nodes, dtype=bool)
    keys = model.wv.index_to_key
    if keys:
        nodes = np.asarray(keys, dtype=np.int64)
        vectors[nodes] = model.wv.vectors
        has_vector[nodes] = True
    return vectors, has_vector, model


def fit_word2vec(walk_arrays, num_nodes: int, folder: Path, *, quiet: bool = True,
                 on_rows=None, **options):
    """gensim word2vec as the train stage records it; saves word2vec.model into ``folder``."""
    from . import Trained

    vectors, has_vector, model = train_word2vec(walk_arrays, num_nodes, folder, quiet=quiet,
                                                on_rows=on_rows, **options)
    model.save(str(Path(folder) / "word2vec.model"))
    # gensim trains on walks: the options of sessions and LINE are not its to record
    params = {"method": "word2vec", **{key: options[name]
                                       for name, key in TRAIN.manifest_keys.items()
                                       if name in options}}
    return Trained(vectors, has_vector, params,
                   {"nodes": num_nodes, "vectors": int(has_vector.sum()),
                    "nodes_without_vector": int((~has_vector).sum())})
