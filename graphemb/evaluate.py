"""`graphemb evaluate`: its verbs link_prediction, node_classification and next_item (with the
tables the CLI prints), and the pieces benchmarks/ reuse. The code is in graphemb.evaluation."""
from .evaluation.link_prediction import (baseline_scores, embedding_scores, link_prediction,
                                         link_prediction_table, negative_weights,
                                         sample_non_edges, split_edges, undirected_keys)
from .evaluation.next_item import next_item, next_item_table
from .evaluation.node_classification import (classify, node_classification,
                                             node_classification_table)
from .ingest.edges import graph_from_adjacency, read_mat

__all__ = ["link_prediction", "node_classification", "next_item", "link_prediction_table",
           "node_classification_table", "next_item_table", "baseline_scores",
           "embedding_scores", "negative_weights", "sample_non_edges", "split_edges",
           "undirected_keys", "classify", "graph_from_adjacency", "read_mat"]
