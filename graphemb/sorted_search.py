"""Binary search in a sorted slice: shared by the walk kernels (is x a neighbour of t?) and
the LSH index (where does bucket c start?)."""
from numba import njit


@njit(cache=True, inline="always")
def lower_bound(a, lo, hi, x):
    """First position in a[lo:hi] (sorted ascending) whose value is >= x (hi if none)."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo
