#!/usr/bin/env bash
# The whole pipeline on the bundled MovieLens log, then the nearest neighbours of a few films.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-examples/out}
PYTHON=${PYTHON:-python3}
export GRAPHEMB_WORKDIR=$WORK

set -x
# The README's headline commands (README, "MovieLens: the headline commands"), seeded.
graphemb build-graph examples/movielens/ratings.csv
graphemb walk --p 0.5 --q 2 --seed 1
graphemb train --ns-exponent 0 --seed 1
graphemb export "$WORK/vectors.parquet"
# Neighbours with titles. similar only returns items with >= 10 ratings by default
# (--min-count): rarer films have noisy vectors (README, "similar").
graphemb similar 1 260 2571 318 -k 5 --names examples/movielens/movies.csv
# A map of the films coloured by (first) genre, hover for titles; open it in a browser.
graphemb plot "$WORK/map.html" --method pca --side examples/movielens/movies.csv \
    --color-by genres --names examples/movielens/movies.csv
set +x
"$PYTHON" examples/neighbours.py "$WORK/vectors.parquet" examples/movielens/movies.csv
