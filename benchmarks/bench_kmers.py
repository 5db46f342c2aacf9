#!/usr/bin/env python
"""Benchmark (a): canonical k-mer counting throughput, genogan vs `jellyfish count -C`.

Both tools count the same uncompressed FASTQ with the same k and threads, each timed end to end
as a separate process (genogan: `python -m genogan.kmers count ...`, including interpreter
start-up and writing its .npz; jellyfish: `jellyfish count`, writing its hash). The file is read
once beforehand so both find it in the page cache. Throughput is input bases per second; the
ratio is genogan / jellyfish (target >= 1.0 at k = 6, 2 threads). Counts are checked once per k
against `jellyfish dump` (k <= 8: every k-mer) or `jellyfish query` (a random sample).

    python benchmarks/bench_kmers.py                      # 2M x 150 bp reads, k=6, 2 threads
    python benchmarks/bench_kmers.py --k 6 12 --threads 1 2 --repeats 3
    python benchmarks/bench_kmers.py --fastq my_reads.fastq --k 8

Exit status: 0 done, 2 jellyfish missing, 3 counts disagree.
Installs nothing: jellyfish comes from `apt-get install jellyfish` (Debian/Ubuntu) or
`conda install -c bioconda jellyfish`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from genogan import kmers


def write_reads(path: Path, n_reads: int, length: int, seed: int) -> None:
    """Deterministic Illumina-like FASTQ: uniform bases, 0.1% N, qualities 2..40, fixed headers.

    Records all have the same size, so whole blocks are assembled as one numpy matrix.
    """
    rng = np.random.default_rng(seed)
    width = len(str(max(n_reads - 1, 1)))
    head = 2 + width  # '@r' + zero-padded index
    rec = head + 1 + length + 3 + length + 1
    bases = np.frombuffer(b"ACGT", dtype=np.uint8)
    with open(path, "wb") as out:
        for start in range(0, n_reads, 200_000):
            n = min(200_000, n_reads - start)
            block = np.empty((n, rec), dtype=np.uint8)
            block[:, 0], block[:, 1] = ord("@"), ord("r")
            ids = np.arange(start, start + n)
            for d in range(width):
                block[:, head - 1 - d] = ord("0") + (ids // 10**d) % 10
            seq = bases[rng.integers(0, 4, (n, length))]
            seq[rng.random((n, length)) < 0.001] = ord("N")
            p = head
            block[:, p] = 10
            block[:, p + 1:p + 1 + length] = seq
            p += 1 + length
            block[:, p:p + 3] = np.frombuffer(b"\n+\n", dtype=np.uint8)
            block[:, p + 3:p + 3 + length] = rng.integers(35, 74, (n, length), dtype=np.uint8)
            block[:, -1] = 10
            out.write(block.tobytes())


def fastq_stats(path: Path) -> tuple[int, int]:
    """(reads, bases) of a FASTQ, counted once with numpy."""
    reads = bases = 0
    with open(path, "rb") as fh:
        pending = b""
        while block := fh.read(1 << 26):
            data = pending + block
            lines = data.split(b"\n")
            pending = lines.pop()
            usable = len(lines) - len(lines) % 4
            pending = b"\n".join(lines[usable:] + [pending])
            reads += usable // 4
            bases += sum(map(len, lines[1:usable:4]))
        if pending.strip():
            lines = pending.split(b"\n")
            reads += len(lines) // 4
            bases += sum(map(len, lines[1::4]))
    return reads, bases


def timed_run(cmd: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"command failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr[-2000:]}")
    return elapsed


def jellyfish_counts(jf: str, db: Path, k: int, ours: np.ndarray) -> tuple[dict, str]:
    """jellyfish's counts: every k-mer (dump) for k <= 8, else a query of a sample of k-mers."""
    if k <= 8:
        out = subprocess.run([jf, "dump", "-c", str(db)], capture_output=True, text=True,
                             check=True).stdout.split()
        return dict(zip(out[0::2], map(int, out[1::2]), strict=True)), "jellyfish dump"
    rng = np.random.default_rng(k)
    order = np.argsort(ours)  # the rarest and most common ones, plus a random sample
    idx = np.concatenate([rng.choice(ours.size, 200, replace=False), order[:5], order[-5:]])
    names = kmers.decode(kmers.canonical_codes(k)[idx], k)
    out = subprocess.run([jf, "query", str(db), *names], capture_output=True, text=True,
                         check=True).stdout.split()
    return dict(zip(out[0::2], map(int, out[1::2]), strict=True)), "jellyfish query"


def check_agreement(jf: str, db: Path, npz: Path, k: int) -> bool:
    ours = kmers.load_counts(npz).counts
    theirs, how = jellyfish_counts(jf, db, k, ours)
    codes = kmers.canonical_codes(k)
    if k <= 8:
        mine = dict(zip(kmers.canonical_kmers(k), ours.tolist(), strict=True))
    else:
        mine = {name: int(ours[np.searchsorted(codes, _encode(name))]) for name in theirs}
    keys = set(mine) | set(theirs)
    bad = [key for key in sorted(keys) if mine.get(key, 0) != theirs.get(key, 0)]
    print(f"  agreement k={k}: {len(keys) - len(bad):,}/{len(keys):,} k-mers equal ({how})")
    for key in bad[:5]:
        print(f"    {key}: genogan {mine.get(key, 0)}, jellyfish {theirs.get(key, 0)}")
    return not bad


def _encode(kmer: str) -> int:
    code = 0
    for base in kmer:
        code = code * 4 + "ACGT".index(base)
    return code


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fastq", type=Path, help="use this uncompressed FASTQ instead")
    parser.add_argument("--reads", type=int, default=2_000_000, help="reads to simulate")
    parser.add_argument("--length", type=int, default=150, help="read length to simulate")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--k", type=int, nargs="+", default=[6])
    parser.add_argument("--threads", type=int, nargs="+", default=[2])
    parser.add_argument("--repeats", type=int, default=3, help="runs per tool; best is kept")
    parser.add_argument("--workdir", type=Path, help="keep files here (default: a temp dir)")
    args = parser.parse_args(argv)

    jf = shutil.which("jellyfish")
    if jf is None:
        print("jellyfish not found on PATH; install it with `apt-get install jellyfish` "
              "(or `conda install -c bioconda jellyfish`) and re-run.", file=sys.stderr)
        return 2
    version = subprocess.run([jf, "--version"], capture_output=True, text=True).stdout.strip()
    tmp = tempfile.TemporaryDirectory(dir=args.workdir) if args.workdir is None else None
    work = Path(tmp.name) if tmp else args.workdir
    work.mkdir(parents=True, exist_ok=True)
    try:
        fastq = args.fastq
        if fastq is None:
            fastq = work / "reads.fastq"
            start = time.perf_counter()
            write_reads(fastq, args.reads, args.length, args.seed)
            print(f"simulated {args.reads:,} x {args.length} bp in "
                  f"{time.perf_counter() - start:.1f} s -> {fastq}")
        reads, bases = fastq_stats(fastq)  # also warms the page cache
        print(f"input: {fastq} ({os.path.getsize(fastq) / 1e6:.0f} MB), {reads:,} reads, "
              f"{bases / 1e6:.1f} M bases; {version}; {os.cpu_count()} CPUs; "
              f"best of {args.repeats}")
        rows, agree = [], True
        for k in args.k:
            checked = False
            for threads in args.threads:
                db, npz = work / f"jf_k{k}.jf", work / f"ours_k{k}.npz"
                jf_cmd = [jf, "count", "-C", "-m", str(k), "-s", str(kmers.n_canonical(k)),
                          "-t", str(threads), "-o", str(db), str(fastq)]
                our_cmd = [sys.executable, "-m", "genogan.kmers", "count", "--source", "reads",
                           "--sample", "bench", "--k", str(k), "--threads", str(threads),
                           "--out", str(npz), str(fastq)]
                t_jf, t_ours = [], []
                for _ in range(args.repeats):  # alternate so both see the same machine load
                    t_jf.append(timed_run(jf_cmd))
                    t_ours.append(timed_run(our_cmd))
                jf_s, ours_s = min(t_jf), min(t_ours)
                rows.append((k, threads, jf_s, ours_s))
                print(f"k={k:<2} threads={threads}: jellyfish {jf_s:7.2f} s "
                      f"{bases / jf_s / 1e6:7.1f} M bases/s | genogan {ours_s:7.2f} s "
                      f"{bases / ours_s / 1e6:7.1f} M bases/s | ratio {jf_s / ours_s:5.2f}x",
                      flush=True)
                if not checked:
                    agree &= check_agreement(jf, db, npz, k)
                    checked = True
        print("\nk  threads  jellyfish_Mb/s  genogan_Mb/s  ratio(genogan/jellyfish)")
        for k, threads, jf_s, ours_s in rows:
            flag = "" if jf_s / ours_s >= 1.0 else "  BELOW TARGET 1.0"
            print(f"{k:<2} {threads:<8} {bases / jf_s / 1e6:14.1f} {bases / ours_s / 1e6:13.1f}"
                  f"  {jf_s / ours_s:.2f}{flag}")
        if not agree:
            print("COUNTS DISAGREE with jellyfish", file=sys.stderr)
            return 3
        return 0
    finally:
        if tmp:
            tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
