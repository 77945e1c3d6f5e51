"""``andicam augment-overlap``: how alike the ranked arms' training pools are, before any retraining."""

from __future__ import annotations

import argparse

from andicam.augment import ARM_LAYER, OVERLAP_PAIRS, RANKED_ARMS, pool_overlap, ranking, select
from andicam.errors import UserInputError
from andicam.files import write_csv
from andicam.gradcam import read_gradcam

HELP = ("Per class, the share of each ranked arm's top-p % pool that is also in the targeted arm's (and where "
        "Grad-CAM points against the most probable), beside the share a random pool would have.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gradcam", required=True,
                        help="Grad-CAM file of the training shard the arms select from (its maps and log-probabilities)")
    parser.add_argument("--percent", required=True, type=float, help="p in (0, 100]: each arm's pool per class")
    parser.add_argument("--arms", nargs="+", choices=RANKED_ARMS, default=list(RANKED_ARMS),
                        help="the ranked arms to compare (default: all)")
    parser.add_argument("--out", required=True,
                        help="CSV: class, arm, reference, n_class, pool_size, shared, share, chance")


def run(args: argparse.Namespace) -> int:
    if not 0 < args.percent <= 100:
        raise UserInputError(f"--percent must lie in (0, 100], got {args.percent}")
    arrays, _ = read_gradcam(args.gradcam)  # once: every arm ranks from the same file
    pools, labels = {}, None
    for arm in dict.fromkeys(args.arms):
        cam, labels = ranking(arrays, ARM_LAYER[arm], args.gradcam)
        pools[arm] = select(cam, labels, args.percent, arm, seed=0)  # a ranking: the seed is not used
    table = pool_overlap(pools, labels)
    if table.empty:
        raise UserInputError(f"--arms {' '.join(args.arms)}: no pair of {OVERLAP_PAIRS} to compare")
    write_csv(args.out, table)
    for r in table[table["class"] == "all"].itertuples(index=False):
        print(f"{r.arm} vs {r.reference}: {r.share:.3f} of the pool shared (a random pool: {r.chance:.3f})")
    print(f"wrote {len(table)} rows to {args.out}")
    return 0
