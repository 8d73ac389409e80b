"""Inter-reviewer agreement: percent agreement and Cohen's kappa for each pair of reviewers on the items both decided.

Pure functions over (item, reviewer, verdict) tuples; no I/O, no Qt.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from itertools import combinations


@dataclass(frozen=True)
class PairAgreement:
    reviewer_a: str
    reviewer_b: str
    # Items both reviewers decided.
    items: int
    # Share of those items on which they gave the same verdict, 0..1.
    percent_agreement: float
    # Cohen's kappa: agreement beyond what their own verdict frequencies would give by chance. None when undefined:
    # both reviewers gave one and the same verdict every time (chance agreement is then 1, and kappa is 0/0).
    kappa: float | None

    def as_json(self) -> dict[str, object]:
        return {
            "reviewer_a": self.reviewer_a,
            "reviewer_b": self.reviewer_b,
            "items": self.items,
            "percent_agreement": round(self.percent_agreement * 100, 2),
            "kappa": None if self.kappa is None else round(self.kappa, 4),
        }


def cohens_kappa(pairs: Iterable[tuple[Hashable, Hashable]]) -> float | None:
    """Kappa over (verdict of A, verdict of B) pairs; None for no pairs or when chance agreement is 1."""
    observed_pairs = list(pairs)
    total = len(observed_pairs)
    if total == 0:
        return None
    observed = sum(1 for a, b in observed_pairs if a == b) / total
    counts_a = Counter(a for a, _ in observed_pairs)
    counts_b = Counter(b for _, b in observed_pairs)
    chance = sum(counts_a[label] * counts_b[label] for label in counts_a) / (total * total)
    if chance >= 1.0:
        return None
    return (observed - chance) / (1.0 - chance)


def pairwise_agreement(reviews: Iterable[tuple[Hashable, str, str]]) -> list[PairAgreement]:
    """One PairAgreement per pair of reviewers who decided at least one item in common, sorted by the pair's names.

    If a reviewer judged one item more than once, their last verdict counts.
    """
    by_item: dict[Hashable, dict[str, str]] = defaultdict(dict)
    for item, reviewer, verdict in reviews:
        by_item[item][reviewer] = verdict
    by_pair: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for verdicts in by_item.values():
        for first, second in combinations(sorted(verdicts), 2):
            by_pair[(first, second)].append((verdicts[first], verdicts[second]))
    results = []
    for (first, second), pairs in sorted(by_pair.items()):
        agreed = sum(1 for a, b in pairs if a == b)
        results.append(PairAgreement(first, second, len(pairs), agreed / len(pairs), cohens_kappa(pairs)))
    return results
