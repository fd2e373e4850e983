"""Our layered (Sugiyama) layout of the autograd graph: rows by longest path from the root,
virtual nodes where an edge crosses rows, rows ordered by barycenters to limit crossings, x
placed under the parents. Every step is O(n log n), so a graph of 100,000 nodes still lays out."""
from __future__ import annotations


def _inversions(seq: list) -> int:
    """Pairs i < j with seq[i] > seq[j], counted by merge sort: O(n log n)."""
    count, width, seq = 0, 1, list(seq)
    while width < len(seq):
        merged = []
        for lo in range(0, len(seq), 2 * width):
            left, right = seq[lo:lo + width], seq[lo + width:lo + 2 * width]
            i = j = 0
            while i < len(left) and j < len(right):
                if right[j] < left[i]:  # right[j] is below every left item still waiting: each a crossing
                    count += len(left) - i
                    merged.append(right[j])
                    j += 1
                else:
                    merged.append(left[i])
                    i += 1
            merged += left[i:] + right[j:]
        seq, width = merged, 2 * width
    return count


def _count_crossings(place: dict[int, tuple[int, int]], segments) -> int:
    """Pairs of segments between the same two adjacent rows that cross (shared ends do not).

    Sorted by their upper end, two segments cross when their lower ends come in the other order:
    the crossings of a gap are the inversions of its lower ends, O(E log E) instead of all pairs."""
    between: dict[int, list[tuple[int, int]]] = {}
    for a, b in segments:
        (ra, ka), (rb, kb) = place[a], place[b]
        if rb == ra + 1:  # a long edge left without bends (see _layout) is not counted
            between.setdefault(ra, []).append((ka, kb))
    return sum(_inversions([kb for _, kb in sorted(segs)]) for segs in between.values())


def _order_rows(rows: list[list[int]], segments) -> list[list[int]]:
    """Barycenter heuristic: sort each row by the mean place of its neighbours in the row above
    (sweeping down), then in the row below (sweeping up); keep the order with fewest crossings.
    Each sweep costs O(n log n): only the row just sorted changes its places."""
    up: dict[int, list[int]] = {}
    down: dict[int, list[int]] = {}
    for a, b in segments:
        down.setdefault(a, []).append(b)
        up.setdefault(b, []).append(a)
    place = {i: (r, k) for r, row in enumerate(rows) for k, i in enumerate(row)}
    best, best_n = [r[:] for r in rows], _count_crossings(place, segments)
    for sweep in range(8):
        neighbours, span = (up, range(1, len(rows))) if sweep % 2 == 0 else (down, range(len(rows) - 2, -1, -1))
        for r in span:
            def key(i: int) -> float:
                ks = [place[n][1] for n in neighbours.get(i, ())]
                return sum(ks) / len(ks) if ks else place[i][1]
            rows[r].sort(key=key)
            place.update({i: (r, k) for k, i in enumerate(rows[r])})
        n = _count_crossings(place, segments)
        if n < best_n:
            best, best_n = [r[:] for r in rows], n
    return best


def _place(rows: list[list[int]], segments) -> dict[int, float]:
    """x of each node: under the mean of its parents where the row leaves room (so chains run
    straight down), keeping the row's order and a gap of at least 1."""
    parents: dict[int, list[int]] = {}
    for a, b in segments:
        parents.setdefault(b, []).append(a)
    x = {i: float(k) for k, i in enumerate(rows[0])}
    for row in rows[1:]:
        want = [sum(x[p] for p in parents[i]) / len(parents[i]) for i in row]
        left, right = want[:], want[:]
        for k in range(1, len(row)):  # push right to make room, then push left: average the two
            left[k] = max(left[k], left[k - 1] + 1)
        for k in range(len(row) - 2, -1, -1):
            right[k] = min(right[k], right[k + 1] - 1)
        x.update({i: (a + b) / 2 for i, a, b in zip(row, left, right)})
    low = min(x.values())
    return {i: v - low for i, v in x.items()}


def layout(rank: list[int], edges) -> tuple[dict[int, int], dict[int, float], list[list[int]]]:
    """Sugiyama's layered layout: an edge spanning several rows gets a virtual node in each row
    it crosses (so it is ordered and placed like the others and bends around boxes); returns
    each node's place in its row, its x, and each edge's virtual nodes (ids past the real ones).

    Virtual nodes are bounded by 4 x (nodes + edges), given to the shortest long edges first, so
    the layout stays O(n log n) (weight decay on a deep graph could otherwise ask n per edge);
    an edge past the budget is drawn straight."""
    rank = list(rank)
    budget = 4 * (len(rank) + len(edges))
    spans = sorted(range(len(edges)), key=lambda e: rank[edges[e][1]] - rank[edges[e][0]])
    bent = set()
    for e in spans:
        budget -= rank[edges[e][1]] - rank[edges[e][0]] - 1
        if budget < 0:
            break
        bent.add(e)
    segments, routes = [], []
    for e, (i, j, _) in enumerate(edges):
        chain = [i]
        for r in range(rank[i] + 1, rank[j]) if e in bent else ():
            rank.append(r)
            chain.append(len(rank) - 1)
        chain.append(j)
        segments += zip(chain, chain[1:])
        routes.append(chain[1:-1])
    rows: list[list[int]] = [[] for _ in range(max(rank) + 1)]
    for i, r in enumerate(rank):
        rows[r].append(i)
    rows = _order_rows(rows, segments)
    return {i: k for row in rows for k, i in enumerate(row)}, _place(rows, segments), routes
