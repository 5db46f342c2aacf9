"""Benchmark (b): reads → sorted, indexed BAM, genogan (mappy engine) vs minimap2 | samtools sort.

Both sides start from the same FASTQ files with the same thread count and end with a
coordinate-sorted BAM *and* its index (the anchor uses `samtools sort --write-index`, genogan
indexes the same way), so indexing is included in both, and with the same records (the
anchor runs with `--secondary=no`, as genogan writes no secondary alignments). genogan runs
as its command line (`genogan align`, via `genogan.align.main`), i.e. Python start-up and
imports count against it, as they do in the workflow. Runs are *paired*: anchor, ours,
anchor, ours ... `--repeats` pairs; each pair gives one throughput ratio (anchor wall / ours
wall), and the median of the per-pair ratios is the result (all pairs are printed): on a
shared, noisy machine two independent medians are not comparable, neighbouring runs are. CPU
time (user + system, all child processes) is paired the same way. The anchor is the minimap2
of mappy's version when tests/tools/build_minimap2.sh has built it (else `minimap2` on PATH;
its version is printed). With `--prebuilt-index` both sides load the same .mmi (as the
workflow's align jobs do). With `--baseline-src DIR` (the `src` folder of another checkout,
e.g. a `git clone` of an older commit) each round also runs that genogan beside ours (order
alternating), each divided by the same anchor run: before/after a change, side by side.

    python benchmarks/bench_align.py                      # ~2 Mb genome, 200k pairs 2x150, T=2
    python benchmarks/bench_align.py --threads 4 --pairs 500000
    python benchmarks/bench_align.py --reference ref.fa --fq1 r1.fq.gz --fq2 r2.fq.gz

Prints wall times, read pairs/s and the ratio ours/anchor throughput (target >= 0.9).
Exit code 2 when minimap2 or samtools is missing (this script installs nothing).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

READ_LEN = 150
_COMP = bytes.maketrans(b"ACGT", b"TGCA")


def write_reference(path: Path, rng, n_contigs: int, contig_len: int) -> list[bytes]:
    """Random genome (uniform bases) as a FASTA with 60-column lines."""
    bases = np.frombuffer(b"ACGT", dtype=np.uint8)
    seqs = [bases[rng.integers(0, 4, contig_len)].tobytes() for _ in range(n_contigs)]
    with open(path, "wb") as handle:
        for i, seq in enumerate(seqs, start=1):
            handle.write(f">chr{i}\n".encode())
            handle.write(b"\n".join(seq[j:j + 60] for j in range(0, len(seq), 60)) + b"\n")
    return seqs


def write_reads(seqs, r1_path: Path, r2_path: Path, rng, n_pairs: int, error_rate=0.005) -> None:
    """Paired 2x150 reads from fragments ~N(350, 50); R1 forward / R2 reverse-complement (or the
    other way round for half the pairs); uniform substitutions; names carry the truth."""
    bases = np.frombuffer(b"ACGT", dtype=np.uint8)
    qual = b"I" * READ_LEN
    contig = rng.integers(0, len(seqs), n_pairs)
    frag = np.clip(rng.normal(350, 50, n_pairs).astype(int), READ_LEN, 700)
    swap = rng.random(n_pairs) < 0.5
    with open(r1_path, "wb") as f1, open(r2_path, "wb") as f2:
        for i in range(n_pairs):
            seq = seqs[contig[i]]
            start = int(rng.integers(0, len(seq) - frag[i]))
            end = start + int(frag[i])
            left = bytearray(seq[start:start + READ_LEN])
            right = bytearray(seq[end - READ_LEN:end].translate(_COMP)[::-1])
            for read in (left, right):
                hits = np.flatnonzero(rng.random(READ_LEN) < error_rate)
                for j in hits:
                    read[j] = bases[(b"ACGT".index(read[j]) + int(rng.integers(1, 4))) % 4]
            r1, r2, p1, p2 = left, right, start, end - READ_LEN
            if swap[i]:
                r1, r2, p1, p2 = r2, r1, p2, p1
            name = f"@bench.{i}:chr{contig[i] + 1}:{p1}:{p2}\n".encode()
            f1.write(name + bytes(r1) + b"\n+\n" + qual + b"\n")
            f2.write(name + bytes(r2) + b"\n+\n" + qual + b"\n")


def count_pairs(fq1: Path) -> int:
    import pysam

    with pysam.FastxFile(str(fq1)) as handle:
        return sum(1 for _ in handle)


def _timed(cmd, **kwargs) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and all its descendants)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, **kwargs)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def anchor_minimap2() -> str | None:
    """The minimap2 of the installed mappy's version if built, else the one on PATH."""
    import importlib.metadata

    built = (Path(__file__).resolve().parents[1] / ".cache"
             / f"minimap2-{importlib.metadata.version('mappy')}" / "minimap2")
    return str(built) if built.is_file() else shutil.which("minimap2")


def run_anchor(ref, fq1, fq2, out: Path, threads: int, exe: str) -> tuple[float, float]:
    cmd = (f"'{exe}' -ax sr --secondary=no -t {threads} '{ref}' '{fq1}' '{fq2}' 2>/dev/null | "
           f"samtools sort -@ {threads} --write-index -o '{out}##idx##{out}.bai' - 2>/dev/null")
    return _timed(["bash", "-o", "pipefail", "-c", cmd])


def run_ours(ref, fq1, fq2, out: Path, threads: int, index=None,
             src: str | None = None) -> tuple[float, float]:
    cmd = [sys.executable, "-c", "import sys; from genogan.align import main; sys.exit(main())",
           "--reference", str(ref), "--fq1",
           str(fq1), "--fq2", str(fq2), "--sample", "bench", "--out", str(out),
           "--threads", str(threads), "--engine", "mappy"]
    if index is not None:
        cmd += ["--index", str(index)]
    return _timed(cmd, stderr=subprocess.DEVNULL, env=_python_env(src))


def _python_env(src: str | None = None) -> dict:
    """Our side runs with the byte-code cache on, as Python normally does (some sandboxes set
    PYTHONDONTWRITEBYTECODE, which would recompile the package on every start); `src` puts
    another checkout's package first on the path."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (src, env.get("PYTHONPATH"))))
    return env


def warm_up(src: str | None = None) -> None:
    subprocess.run([sys.executable, "-c", "import genogan.align, mappy"], check=True,
                   env=_python_env(src))


def mapped_fraction(bam: Path) -> float:
    import pysam

    with pysam.AlignmentFile(str(bam)) as handle:
        stats = handle.get_index_statistics()
        mapped = sum(s.mapped for s in stats)
        return mapped / max(mapped + handle.unmapped, 1)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference")
    parser.add_argument("--fq1")
    parser.add_argument("--fq2")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pairs", type=int, default=200_000, help="simulated read pairs")
    parser.add_argument("--genome-mb", type=float, default=2.0, help="simulated genome size")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", help="keep inputs/outputs here (default: a temp folder)")
    parser.add_argument("--prebuilt-index", action="store_true",
                        help="both sides load one .mmi built beforehand (the workflow's way)")
    parser.add_argument("--baseline-src", help="also run the genogan of this `src` folder "
                        "(another checkout) in every round, beside ours")
    args = parser.parse_args(argv)

    exe = anchor_minimap2()
    missing = [b for b, path in (("minimap2", exe), ("samtools", shutil.which("samtools")))
               if path is None]
    if missing:
        print(f"bench_align: missing {', '.join(missing)} (the anchor). Install with "
              "`apt-get install minimap2 samtools` or `conda env create -f envs/align.yaml`.",
              file=sys.stderr)
        return 2
    given = [args.reference, args.fq1, args.fq2]
    if any(given) and not all(given):
        parser.error("give all of --reference, --fq1 and --fq2, or none")

    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        work = Path(tmp)
        if all(given):
            ref, fq1, fq2 = (Path(p) for p in given)
            n_pairs = count_pairs(fq1)
        else:
            rng = np.random.default_rng(args.seed)
            ref, fq1, fq2 = work / "ref.fa", work / "r1.fq", work / "r2.fq"
            n_contigs = 4
            seqs = write_reference(ref, rng, n_contigs, int(args.genome_mb * 1e6 / n_contigs))
            write_reads(seqs, fq1, fq2, rng, args.pairs)
            n_pairs = args.pairs
        version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
        print(f"input: {n_pairs} read pairs, reference {ref}, threads {args.threads}; "
              f"anchor {exe} {version.strip()}")
        target = index = None
        if args.prebuilt_index:
            import mappy

            index = work / "ref.mmi"
            mappy.Aligner(str(ref), preset="sr", fn_idx_out=str(index))
            target = index
        warm_up()
        if args.baseline_src:
            warm_up(args.baseline_src)
        pairs, baseline = [], []
        for i in range(args.repeats):
            anchor = run_anchor(target or ref, fq1, fq2, work / "anchor.bam", args.threads, exe)
            runs = [("ours", None), ("base", args.baseline_src)][:1 + bool(args.baseline_src)]
            for name, src in runs[::-1] if i % 2 else runs:  # baseline first every other round
                result = run_ours(ref, fq1, fq2, work / f"{name}.bam", args.threads, index, src)
                (pairs if src is None else baseline).append((anchor, result))
        if baseline:
            print(f"baseline {args.baseline_src} (same anchor run as ours; order alternates):")
            report_pairs(baseline)
            print("ours:")
        ratio, cpu = report_pairs(pairs)
        ours_wall = statistics.median(ow for _, (ow, _) in pairs)
        print(f"mapped fraction: anchor {mapped_fraction(work / 'anchor.bam'):.4f}, "
              f"ours {mapped_fraction(work / 'ours.bam'):.4f}; ours {n_pairs / ours_wall:.0f} "
              "pairs/s (median wall)")
        print(f"paired CPU-time ratio anchor/ours (median of {len(pairs)} pairs): {cpu:.3f}")
        print(f"paired throughput ratio ours/anchor (median of {len(pairs)} pairs): {ratio:.3f} "
              "(target >= 0.9)")
    return 0


def report_pairs(pairs) -> tuple[float, float]:
    """Print every pair; return the medians of the per-pair throughput and CPU ratios."""
    print("pair  anchor wall  ours wall  throughput ours/anchor  CPU anchor/ours")
    for i, ((aw, ac), (ow, oc)) in enumerate(pairs, 1):
        print(f"{i:4d}  {aw:9.2f} s  {ow:7.2f} s  {aw / ow:22.3f}  {ac / oc:15.3f}")
    return (statistics.median(aw / ow for (aw, _), (ow, _) in pairs),
            statistics.median(ac / oc for (_, ac), (_, oc) in pairs))


if __name__ == "__main__":
    sys.exit(main())
