"""Placement balance when projects differ in size: the heaviest agent's load over the mean, by
count (every partition weighs one) and by weight (its load balancers), as JSON.

Pure computation (core/placement.py), no processes: `--environments` random environments of
`--projects` projects whose load-balancer counts follow a Pareto law (a few big projects, many
small ones, capped at `--cap`), placed over `--agents` agents from scratch. A ratio of 1.0 is a
perfect spread; the issue's complaint was one agent handed all the big projects.

Usage: python bench/placement_bench.py [--environments 200] [--projects 60] [--agents 4]
       [--cap 50] [--seed 7] [--output FILE]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
from collections import Counter

from bigip_lbaas.core.placement import place


def ratio(assignment: dict[int, str], weights: dict[int, int], agents: list[str]) -> float:
    load: Counter[str] = Counter(dict.fromkeys(agents, 0))
    for partition, agent in assignment.items():
        load[agent] += weights[partition]
    mean = sum(load.values()) / len(agents)
    return max(load.values()) / mean


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--environments", type=int, default=200)
    parser.add_argument("--projects", type=int, default=60)
    parser.add_argument("--agents", type=int, default=4)
    parser.add_argument("--cap", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--output")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    agents = [f"agent-{i}" for i in range(args.agents)]
    by_count: list[float] = []
    by_weight: list[float] = []
    for _ in range(args.environments):
        weights = {p: min(args.cap, int(rng.paretovariate(1.2)))
                   for p in range(1, args.projects + 1)}
        by_count.append(ratio(place(weights, agents), weights, agents))
        by_weight.append(ratio(place(weights, agents, weights=weights), weights, agents))
    result = {
        "environments": args.environments, "projects": args.projects, "agents": args.agents,
        "heaviest_over_mean": {
            "by_count": {"median": round(statistics.median(by_count), 3),
                         "mean": round(statistics.fmean(by_count), 3),
                         "worst": round(max(by_count), 3)},
            "by_weight": {"median": round(statistics.median(by_weight), 3),
                          "mean": round(statistics.fmean(by_weight), 3),
                          "worst": round(max(by_weight), 3)},
        },
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        with open(args.output, "w") as out:
            out.write(text + "\n")


if __name__ == "__main__":
    main()
