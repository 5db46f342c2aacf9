"""`genogan quality`: score a synthetic set against its fold's real training and test data."""

from __future__ import annotations


def register_cli(subparsers) -> None:
    from genogan.settings.sections import QualitySettings

    defaults = QualitySettings()  # the config's `quality:` defaults (the shipped schema)
    p = subparsers.add_parser(
        "quality", help="fidelity, utility and privacy of synthetic samples",
        description="Score synthetic samples against the real training part of a fold (fidelity, "
        "label fidelity) and its test part (utility, privacy). Writes summary.tsv (one row per "
        "metric, with direction and interpretation), per-sample/per-feature tables, pca.png and "
        "dcr.png; optionally the privacy-gated synthetic set.")
    p.add_argument("--train", required=True, help="real training part (FeatureMatrix parquet)")
    p.add_argument("--holdout", required=True, help="real test part of the same fold (parquet)")
    p.add_argument("--synthetic", required=True, help="synthetic samples (parquet)")
    p.add_argument("--out-dir", required=True, help="folder for the tables and figures")
    p.add_argument("--seed", type=int, default=0, help="seed for CV splits, permutations, "
                   "subsampling and the classifiers (default: %(default)s)")
    p.add_argument("--detection-folds", type=int, default=defaults.detection_folds,
                   help="CV folds of the real-vs-synthetic detector (default: %(default)s)")
    p.add_argument("--mmd-permutations", type=int, default=defaults.mmd_permutations,
                   help="permutations for the MMD p-value (default: %(default)s)")
    p.add_argument("--gate-percentile", type=float, default=defaults.privacy_gate.percentile,
                   help="privacy gate threshold: this percentile of within-training "
                   "leave-one-out nearest-neighbour distances (default: %(default)s)")
    p.add_argument("--gated-out", default=None,
                   help="also write the synthetic samples that pass the gate to this parquet")
    p.add_argument("--threads", type=int, default=1, help="threads for the tree models")
    p.set_defaults(func=_cli)


def _cli(args) -> int:
    from genogan.errors import GenoganInputError
    from genogan.quality.report import run_gate, run_quality

    for flag, value in (("--detection-folds", args.detection_folds >= 2),
                        ("--mmd-permutations", args.mmd_permutations >= 0),
                        ("--gate-percentile", 0 <= args.gate_percentile <= 100)):
        if not value:
            raise GenoganInputError(f"{flag} is out of range", fix="folds >= 2, permutations "
                                    ">= 0, percentile in [0, 100]")
    tables = run_quality(args.train, args.holdout, args.synthetic, args.out_dir, seed=args.seed,
                         detection_folds=args.detection_folds,
                         mmd_permutations=args.mmd_permutations,
                         gate_percentile=args.gate_percentile, n_jobs=args.threads)
    if args.gated_out:
        gate = run_gate(args.train, args.synthetic, args.gated_out,
                        percentile=args.gate_percentile)
        print(f"privacy gate: kept {int(gate.keep.sum())}, dropped {gate.n_dropped} "
              f"(threshold {gate.threshold:.4g}) -> {args.gated_out}")
    summary = tables["summary"].dropna(subset=["value"])
    headline = summary[summary["metric"].isin([
        "fidelity.detection_auc", "fidelity.mmd_pvalue", "privacy.membership_auc",
        "privacy.dcr_below_holdout_p05", "gate.dropped"])]
    for _, row in headline.iterrows():
        print(f"{row['metric']:<32} {row['value']:.4g}  ({row['direction']})")
    print(f"tables and figures in {args.out_dir}")
    return 0
