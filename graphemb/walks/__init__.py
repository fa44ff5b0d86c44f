"""Random walks over the item graph: DeepWalk, exact node2vec, and a seam for other rules.

driver.py walks (threads, random streams, lockstep, dead ends); each other module is one
step rule (how the next node is drawn), registered by name in sampler.RULES. Every walk owns
a random stream derived from (seed, walk number), so the walks are the same for any number
of threads.
"""
from .deepwalk import build_alias_tables
from .driver import set_workers, start_nodes
from .sampler import RULES, WalkSampler, row_sums

__all__ = ["RULES", "WalkSampler", "build_alias_tables", "row_sums", "set_workers",
           "start_nodes"]
