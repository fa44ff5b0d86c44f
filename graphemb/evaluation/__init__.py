"""Evaluation of the vectors: one module per task, each with its baselines.

    metrics              AUC, F1, ranks and ranking metrics (pure functions over arrays)
    link_prediction      the node2vec protocol; popularity, common neighbours, Adamic-Adar
    node_classification  one-vs-rest logistic regression, Micro/Macro-F1 per train ratio
    next_item            each user's last event held out; previous item, user vector, popularity
    common               what the tasks share: the options in force, a temporary workspace
                         retrained with them, scikit-learn on demand, the printed tables

Each task returns a plain dict of results (the CLI writes it as JSON under ``workdir/eval/``).
Link prediction and next-item re-run the pipeline (walk, train; and build-graph for next-item)
on a reduced input in a temporary workspace, so they measure the whole pipeline with the
options in force. The verbs are ``graphemb.evaluate.link_prediction``, ``node_classification``
and ``next_item``.
"""
