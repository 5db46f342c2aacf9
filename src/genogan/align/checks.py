"""Reference contigs, BAM/CRAM checks against the reference, per-sample alignment stats."""

from __future__ import annotations

import csv
import logging
import math
from pathlib import Path

from genogan.errors import GenoganInputError
from genogan.io import atomic_path

logger = logging.getLogger("genogan")

STATS_COLUMNS = ("sample", "total_reads", "mapped_reads", "mapped_pct", "properly_paired_reads",
                 "properly_paired_pct", "mean_depth", "mean_mapq", "genome_length")


def reference_contigs(reference) -> list[tuple[str, int]]:
    """(name, length) of each reference contig, in order.

    Reads the ``.fai`` when one exists beside the FASTA (or when `reference` is the .fai itself),
    otherwise scans the FASTA with a C parser; no file is written next to the user's reference.
    """
    reference = Path(reference)
    fai = reference if reference.suffix == ".fai" else Path(f"{reference}.fai")
    if fai.exists() and (fai == reference or fai.stat().st_mtime >= reference.stat().st_mtime):
        contigs = []
        with open(fai) as handle:
            for line in handle:
                fields = line.rstrip("\n").split("\t")
                if len(fields) >= 2:
                    contigs.append((fields[0], int(fields[1])))
    else:
        if not reference.exists():
            raise GenoganInputError("reference FASTA not found", path=reference,
                                    fix="check the `reference` path in config/config.yaml")
        import pysam

        with pysam.FastxFile(str(reference)) as handle:
            contigs = [(rec.name, len(rec.sequence)) for rec in handle]
    if not contigs:
        raise GenoganInputError("reference has no sequences", path=reference,
                                fix="give a FASTA file with at least one '>' record")
    return contigs


def check_contig_names(contigs, reference) -> None:
    """Each contig name once (a SAM header cannot hold two): say which one is repeated."""
    seen: set[str] = set()
    for name, _ in contigs:
        if name in seen:
            raise GenoganInputError(
                f"reference contig name '{name}' occurs more than once", path=reference,
                fix="give every '>' record of the reference FASTA its own name (e.g. `seqkit "
                    "rename`), or remove the duplicate record")
        seen.add(name)


def check_alignment_reference(bam_or_cram, reference_fasta, create_index: bool = True) -> Path:
    """Check that an input BAM/CRAM fits the reference; return its index path.

    The header's contig names and lengths must equal the reference's, the file must be
    coordinate-sorted, and it needs an index (created beside it when missing and allowed).
    """
    import pysam

    path = Path(bam_or_cram)
    if not path.is_file():
        raise GenoganInputError("alignment file not found", path=path,
                                fix="check the bam/cram path in config/samples.tsv")
    try:
        with pysam.AlignmentFile(str(path), reference_filename=str(reference_fasta)) as handle:
            header = handle.header.to_dict()
            contigs = list(zip(handle.references, handle.lengths, strict=True))
    except (ValueError, OSError) as err:
        raise GenoganInputError(f"cannot read the alignment file ({err})", path=path,
                                fix="give a valid BAM or CRAM") from err
    _compare_contigs(path, contigs, reference_contigs(reference_fasta), reference_fasta)
    if header.get("HD", {}).get("SO") != "coordinate":
        raise GenoganInputError("alignment file is not coordinate-sorted (header SO is "
                                f"'{header.get('HD', {}).get('SO', 'missing')}')", path=path,
                                fix=f"run `samtools sort -o sorted{path.suffix} {path}` and "
                                    "index the result, then use it in the sample sheet")
    return _ensure_index(path, create_index)


def _compare_contigs(path, contigs, ref_contigs, reference) -> None:
    ref = dict(ref_contigs)
    fix = (f"realign the reads to '{reference}', or set `reference` to the genome "
           "this file was aligned to")
    for name, length in contigs:
        if name not in ref:
            raise GenoganInputError(f"contig '{name}' of the alignment header is not in the "
                                    f"reference '{reference}'", path=path, fix=fix)
        if ref[name] != length:
            raise GenoganInputError(f"contig '{name}' has length {length} in the alignment "
                                    f"header but {ref[name]} in the reference '{reference}'",
                                    path=path, fix=fix)
    names = {name for name, _ in contigs}
    for name, _ in ref_contigs:
        if name not in names:
            raise GenoganInputError(f"reference contig '{name}' is missing from the alignment "
                                    "header", path=path, fix=fix)


def _ensure_index(path: Path, create: bool) -> Path:
    import pysam

    candidates = [Path(f"{path}.crai"), path.with_suffix(".crai")] if path.suffix == ".cram" \
        else [Path(f"{path}.bai"), Path(f"{path}.csi"), path.with_suffix(".bai")]
    for index in candidates:
        if index.exists():
            return index
    if not create:
        raise GenoganInputError("alignment file has no index", path=path,
                                fix=f"run `samtools index {path}`")
    try:
        pysam.index(str(path))
    except (pysam.SamtoolsError, OSError) as err:
        raise GenoganInputError(f"alignment file has no index and indexing failed ({err})",
                                path=path, fix=f"run `samtools index {path}` where the folder "
                                "is writable, or copy the file somewhere writable") from err
    logger.info("created index %s", candidates[0])
    return candidates[0]


def alignment_stats(bam, reference_fai_or_fasta, threads: int = 1) -> dict:
    """Per-sample alignment summary from one pass over the BAM (primary records only).

    total_reads counts primary records (each sequenced read once); mapped_pct and
    properly_paired_pct are percentages of it (properly paired is NaN for single-end data);
    mean_depth = reference bases covered by primary mapped reads / genome length;
    mean_mapq is over primary mapped reads. `sample` comes from the @RG SM tag.
    """
    import pysam

    genome_length = sum(length for _, length in reference_contigs(reference_fai_or_fasta))
    total = mapped = proper = paired = mapq_sum = aligned = 0
    with pysam.AlignmentFile(str(bam), threads=max(threads, 1)) as handle:
        groups = handle.header.to_dict().get("RG", [])
        for read in handle.fetch(until_eof=True):
            flag = read.flag
            if flag & 0x900:
                continue
            total += 1
            paired += flag & 1
            if flag & 4:
                continue
            mapped += 1
            proper += (flag >> 1) & 1
            mapq_sum += read.mapping_quality
            aligned += read.reference_length
    samples = sorted({g.get("SM") for g in groups if g.get("SM")})
    return {
        "sample": samples[0] if len(samples) == 1 else ",".join(samples),
        "total_reads": total,
        "mapped_reads": mapped,
        "mapped_pct": 100.0 * mapped / total if total else 0.0,
        "properly_paired_reads": proper,
        "properly_paired_pct": 100.0 * proper / total if paired else math.nan,
        "mean_depth": aligned / genome_length,
        "mean_mapq": mapq_sum / mapped if mapped else math.nan,
        "genome_length": genome_length,
    }


def write_stats_tsv(stats: dict, path, sample: str | None = None) -> None:
    """Write one stats row (with a `sample` column) as TSV, atomically."""
    row = dict(stats)
    if sample is not None:
        row["sample"] = sample
    columns = [c for c in STATS_COLUMNS if c in row] + [c for c in row if c not in STATS_COLUMNS]
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(columns)
        writer.writerow([_fmt(row[c]) for c in columns])


def _fmt(value) -> str:
    if isinstance(value, float):
        return "NA" if math.isnan(value) else f"{value:.4f}"
    return str(value)
