"""Print the films closest (cosine) to a few well-known ones, from exported vectors."""
import sys

import numpy as np
import pandas as pd

vectors_path, movies_path = sys.argv[1], sys.argv[2]
df = pd.read_parquet(vectors_path)
movies = pd.read_csv(movies_path).set_index("movieId")["title"]
ids = df["item_id"].to_numpy()
vec = np.stack(df["vector"].to_numpy()).astype(np.float32)
vec /= np.linalg.norm(vec, axis=1, keepdims=True)
row = {item: i for i, item in enumerate(ids)}

for query in (1, 260, 2571, 318):  # Toy Story, Star Wars IV, The Matrix, Shawshank
    if query not in row:
        continue
    scores = vec @ vec[row[query]]
    best = [i for i in np.argsort(-scores) if ids[i] != query][:5]
    print(f"\n{movies.get(query, query)}")
    for i in best:
        print(f"  {scores[i]:.3f}  {movies.get(ids[i], ids[i])}")
