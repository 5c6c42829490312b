"""Pick the oracle baselines' parameters on the LFW *val* split (never on test), so the
comparison with learned models is fair: Wiener's noise-to-signal ratio and Richardson–Lucy's
iteration count, by mean PSNR over kernel sizes 13, 19, 27 with the evaluation's noise (σ = 0.01).

    python scripts/tune_oracles.py --limit 32 --out scripts/results/tune_oracles.json
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from deblur_tf.evaluate import evaluate, oracle_baselines  # noqa: E402
from deblur_tf.paths import shared_file  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=32)
    ap.add_argument("--out", default="scripts/results/tune_oracles.json")
    args = ap.parse_args()
    split, root = shared_file("data", "lfw", "splits", "val.txt"), shared_file("data", "lfw", "images")
    if split is None:
        raise SystemExit("error: needs ../shared/data/lfw")
    oracles = {}
    for nsr in (0.003, 0.01, 0.03, 0.1):
        oracles[f"wiener_nsr={nsr}"] = oracle_baselines(wiener_nsr=nsr)["wiener_oracle"]
    for iters in (5, 10, 20, 40):
        oracles[f"rl_iterations={iters}"] = oracle_baselines(rl_iterations=iters)["richardson_lucy_oracle"]
    results = evaluate({}, str(split), root=str(root), sizes=(13, 19, 27), limit=args.limit,
                       oracles=oracles, seed=1)
    scores = {name: round(r["psnr"], 3) for name, r in results["overall"].items()}
    for name, psnr in scores.items():
        print(f"{name:22s} {psnr:.2f} dB")
    best = {kind: max((n for n in scores if n.startswith(kind)), key=scores.get) for kind in ("wiener", "rl")}
    print("best:", best)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"split": "val", "images": results["count"], "sizes": [13, 19, 27],
                   "noise_sigma": 0.01, "psnr": scores, "best": best}, f, indent=2)


if __name__ == "__main__":
    main()
