"""Tiny, seeded simulators for the example cohorts shipped in `config/examples/`.

Why simulated: the examples must run anywhere in minutes, carry no licence or privacy burden, and
have a known answer (which motif, which genes carry the class signal), so a user can check that
the workflow finds it. `genogan examples protein|expression|reference --outdir DIR` rewrites the
shipped files byte for byte from the same seed (a test checks this).

- protein: two families of protein sequences. Both draw residues from a background composition
  (approximately the average amino-acid frequencies of UniProtKB/Swiss-Prot); `case` sequences
  are enriched in hydrophobic residues and carry a case motif, `control` sequences carry a control
  motif. Motif copies mutate each residue with probability `mutation`, a few residues are `X`, some
  sequences end in `*` and some have lowercase stretches, so the example exercises the ambiguous
  letter and lowercase handling.
- expression: negative-binomial read counts (genes x samples) with per-sample library sizes, a
  few differentially expressed genes (up or down by `fold_change` in `case`), and gene lengths
  for TPM.
- reference: a labelled study (40 samples) and an unlabelled reference cohort (1,000 samples) of
  the same assay: negative-binomial counts whose log-means follow a few latent expression
  programs. The class shifts one program, whose loadings are small and spread over most genes,
  so 40 labelled samples can hardly find the direction among 100 genes, while the principal
  components of the reference (cases and controls mixed, no labels written) reveal it.
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd

from genogan.io import atomic_path, atomic_write_text

AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"
BACKGROUND = np.array([8.25, 1.37, 5.45, 6.75, 3.86, 7.07, 2.27, 5.96, 5.84, 9.66, 2.42, 4.06,
                       4.70, 3.93, 5.53, 6.56, 5.34, 6.87, 1.08, 2.92])  # order of AMINO_ACIDS
HYDROPHOBIC = "AFILMVW"
CASE_MOTIF, CONTROL_MOTIF = "WCPHYW", "GKSGKT"


def _labels(n_samples: int, case_fraction: float, rng: np.random.Generator) -> np.ndarray:
    n_case = max(2, round(n_samples * case_fraction))
    labels = np.array(["case"] * n_case + ["control"] * (n_samples - n_case))
    return rng.permutation(labels)


def _protein(label: str, length: int, effect: float, mutation: float,
             rng: np.random.Generator) -> str:
    weights = BACKGROUND.copy()
    if label == "case":
        weights[[AMINO_ACIDS.index(a) for a in HYDROPHOBIC]] *= 1 + 0.5 * effect
    weights /= weights.sum()
    residues = rng.choice(list(AMINO_ACIDS), size=length, p=weights)
    motif = CASE_MOTIF if label == "case" else CONTROL_MOTIF
    for _ in range(2):
        copy = [a if rng.random() >= mutation else rng.choice(list(AMINO_ACIDS)) for a in motif]
        start = int(rng.integers(0, length - len(motif)))
        residues[start:start + len(motif)] = copy
    residues[rng.random(length) < 0.01] = "X"
    seq = "M" + "".join(residues[1:])
    if rng.random() < 0.2:  # a soft-masked (lowercase) stretch
        start = int(rng.integers(1, length - 10))
        seq = seq[:start] + seq[start:start + 10].lower() + seq[start + 10:]
    return seq + ("*" if rng.random() < 0.3 else "")


def simulate_protein_families(n_samples: int = 40, case_fraction: float = 0.5,
                              length: tuple[int, int] = (90, 150), effect: float = 0.5,
                              mutation: float = 0.5,
                              seed: int = 7) -> tuple[list[tuple[str, str]], pd.DataFrame]:
    """(records [(sample id, sequence)], sheet with `sample`, `condition`), one protein each.

    `effect` scales the hydrophobic enrichment of `case`; `mutation` is the chance that a motif
    residue is replaced by a random one (1 = no motif signal).
    """
    rng = np.random.default_rng(seed)
    labels = _labels(n_samples, case_fraction, rng)
    ids = [f"P{i + 1:03d}" for i in range(n_samples)]
    records = [(sid, _protein(lab, int(rng.integers(length[0], length[1] + 1)), effect,
                              mutation, rng))
               for sid, lab in zip(ids, labels, strict=True)]
    return records, pd.DataFrame({"sample": ids, "condition": labels})


def simulate_expression(n_samples: int = 40, n_genes: int = 200, n_de: int = 8,
                        case_fraction: float = 0.5, fold_change: float = 2.0,
                        dispersion: float = 0.3, seed: int = 11):
    """(counts genes x samples, sheet, gene lengths, differentially expressed gene ids)."""
    rng = np.random.default_rng(seed)
    labels = _labels(n_samples, case_fraction, rng)
    samples = [f"E{i + 1:03d}" for i in range(n_samples)]
    genes = [f"GENE{i + 1:04d}" for i in range(n_genes)]
    base = rng.lognormal(mean=4.0, sigma=1.5, size=n_genes)
    de = np.sort(rng.choice(n_genes, size=n_de, replace=False))
    log_fc = np.zeros(n_genes)
    log_fc[de] = np.log(fold_change) * rng.choice([-1.0, 1.0], size=n_de)
    size_factor = rng.lognormal(0.0, 0.25, size=n_samples)
    is_case = (labels == "case").astype(float)
    mu = base[:, None] * size_factor[None, :] * np.exp(log_fc[:, None] * is_case[None, :])
    r = 1.0 / dispersion
    counts = rng.negative_binomial(r, r / (r + mu))
    lengths = np.round(rng.lognormal(np.log(2000), 0.6, size=n_genes)).astype(int) + 100
    matrix = pd.DataFrame(counts, index=pd.Index(genes, name="gene"), columns=samples)
    sheet = pd.DataFrame({"sample": samples, "condition": labels})
    lengths = pd.Series(lengths, index=matrix.index, name="length")
    return matrix, sheet, lengths, [genes[i] for i in de]


def simulate_reference_expression(n_study: int = 40, n_reference: int = 1000, n_genes: int = 100,
                                  n_programs: int = 4, delta: float = 4.5,
                                  class_loading_sd: float = 0.04, loading_sd: float = 0.06,
                                  loading_fraction: float = 0.8, gene_noise: float = 0.5,
                                  dispersion: float = 0.3, reference_case_fraction: float = 0.5,
                                  seed: int = 13):
    """(study counts genes x samples, study sheet [sample, condition], reference counts genes x
    samples, reference sheet [sample], truth).

    Log-mean of gene g in sample i: base_g + sum_k L[g, k] z[i, k] + N(0, gene_noise) + log size
    factor; counts are negative binomial with `dispersion`. Program scores z are standard normal;
    the class shifts program 1 (`P1`) by `delta` (cases +delta/2, controls -delta/2). Each gene
    loads on each program with probability `loading_fraction`, weight N(0, sd): `class_loading_sd`
    for P1 (small: a case moves each gene's log-mean by about 0.15), `loading_sd` for the others.
    The reference holds `reference_case_fraction` cases, but its sheet carries no condition.
    """
    if n_programs < 1:
        raise ValueError("n_programs must be at least 1")
    rng = np.random.default_rng(seed)
    genes = [f"GENE{i + 1:04d}" for i in range(n_genes)]
    base = rng.normal(np.log(100.0), 1.0, size=n_genes)
    sd = np.full(n_programs, loading_sd)
    sd[0] = class_loading_sd
    loadings = rng.normal(0.0, 1.0, size=(n_genes, n_programs)) * sd[None, :]
    loadings *= rng.random((n_genes, n_programs)) < loading_fraction
    r = 1.0 / dispersion

    def cohort(n_samples, case_fraction, prefix, width):
        labels = _labels(n_samples, case_fraction, rng)
        z = rng.normal(0.0, 1.0, size=(n_samples, n_programs))
        z[:, 0] += delta * ((labels == "case") - 0.5)
        size_factor = rng.lognormal(0.0, 0.25, size=n_samples)
        log_mu = (base[:, None] + loadings @ z.T
                  + rng.normal(0.0, gene_noise, size=(n_genes, n_samples)))
        mu = np.exp(log_mu) * size_factor[None, :]
        counts = rng.negative_binomial(r, r / (r + mu))
        samples = [f"{prefix}{i + 1:0{width}d}" for i in range(n_samples)]
        matrix = pd.DataFrame(counts, index=pd.Index(genes, name="gene"), columns=samples)
        return matrix, labels, samples

    study, study_labels, study_ids = cohort(n_study, 0.5, "S", 3)
    reference, reference_labels, reference_ids = cohort(n_reference, reference_case_fraction,
                                                        "R", 4)
    sheet = pd.DataFrame({"sample": study_ids, "condition": study_labels})
    reference_sheet = pd.DataFrame({"sample": reference_ids})
    programs = [{"name": f"P{k + 1}", "carries_class": k == 0, "loading_sd": float(sd[k]),
                 "genes": [g for g, w in zip(genes, loadings[:, k], strict=True) if w != 0]}
                for k in range(n_programs)]
    truth = {
        "model": "counts ~ NB(mean = size_factor * exp(base + loadings @ z + noise), "
                 "dispersion); z ~ N(0, 1) per program; the class shifts program `class_program` "
                 "by +delta/2 (case) and -delta/2 (control)",
        "seed": seed, "delta": delta, "class_program": "P1", "n_programs": n_programs,
        "loading_fraction": loading_fraction, "gene_noise": gene_noise, "dispersion": dispersion,
        "size_factor_sd": 0.25, "n_study": n_study, "n_reference": n_reference,
        "reference_cases": int((reference_labels == "case").sum()),
        "reference_labels_written": False, "programs": programs,
        "loadings": {g: [round(float(w), 4) for w in row]
                     for g, row in zip(genes, loadings, strict=True)},
    }
    return study, sheet, reference, reference_sheet, truth


# ---- writing the example folders --------------------------------------------------------------
def write_protein_example(outdir, seed: int = 7, n_samples: int = 40) -> list[Path]:
    outdir = Path(outdir)
    records, sheet = simulate_protein_families(n_samples=n_samples, seed=seed)
    fasta = "".join(f">{sid}\n" + "\n".join(seq[i:i + 60] for i in range(0, len(seq), 60)) + "\n"
                    for sid, seq in records)
    paths = [outdir / "proteins.fa", outdir / "samples.tsv"]
    atomic_write_text(paths[0], fasta)
    atomic_write_text(paths[1], sheet.to_csv(sep="\t", index=False))
    return paths


def write_expression_example(outdir, seed: int = 11, n_samples: int = 40,
                             n_genes: int = 200) -> list[Path]:
    outdir = Path(outdir)
    matrix, sheet, lengths, de = simulate_expression(n_samples=n_samples, n_genes=n_genes,
                                                     seed=seed)
    paths = [outdir / "counts.tsv", outdir / "gene_lengths.tsv", outdir / "samples.tsv",
             outdir / "truth_de_genes.txt"]
    atomic_write_text(paths[0], matrix.to_csv(sep="\t"))
    atomic_write_text(paths[1], lengths.to_csv(sep="\t"))
    atomic_write_text(paths[2], sheet.to_csv(sep="\t", index=False))
    atomic_write_text(paths[3], "\n".join(de) + "\n")
    return paths


def write_reference_example(outdir, seed: int = 13) -> list[Path]:
    """The study (counts.tsv, samples.tsv), the unlabelled reference (reference_counts.tsv.gz,
    reference_samples.tsv) and truth.json. The gzip header carries no time, no file name and no
    operating system (Python's writer), so a rerun writes the same bytes."""
    outdir = Path(outdir)
    study, sheet, reference, reference_sheet, truth = simulate_reference_expression(seed=seed)
    paths = [outdir / "counts.tsv", outdir / "samples.tsv", outdir / "reference_counts.tsv.gz",
             outdir / "reference_samples.tsv", outdir / "truth.json"]
    atomic_write_text(paths[0], study.to_csv(sep="\t"))
    atomic_write_text(paths[1], sheet.to_csv(sep="\t", index=False))
    with atomic_path(paths[2]) as tmp, open(tmp, "wb") as raw, \
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as fh:
        fh.write(reference.to_csv(sep="\t").encode())
    atomic_write_text(paths[3], reference_sheet.to_csv(sep="\t", index=False))
    atomic_write_text(paths[4], json.dumps(truth, indent=1) + "\n")
    return paths


WRITERS = {"protein": write_protein_example, "expression": write_expression_example,
           "reference": write_reference_example}


def register_cli(subparsers) -> None:
    p = subparsers.add_parser(
        "examples", help="write the simulated data of an example config",
        description="Regenerate the data files of config/examples/<name>/ (simulated, seeded).")
    p.add_argument("name", choices=sorted(WRITERS), help="which example")
    p.add_argument("--outdir", help="folder (default: config/examples/<name>)")
    p.add_argument("--seed", type=int, help="random seed (default: the shipped one)")
    p.set_defaults(func=_cli)


def _cli(args: argparse.Namespace) -> int:
    outdir = args.outdir or f"config/examples/{args.name}"
    kwargs = {} if args.seed is None else {"seed": args.seed}
    for path in WRITERS[args.name](outdir, **kwargs):
        print(path)
    return 0
