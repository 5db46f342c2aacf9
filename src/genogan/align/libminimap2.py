"""minimap2's own mapping pipeline and SAM writer, run from the C library inside mappy.

mappy's extension module is minimap2's C code compiled together with its Python binding, and
it exports minimap2's C API (``mm_set_opt``, ``mm_idx_reader_read``, ``mm_map_file_frag``,
``mm_write_sam_hdr`` ...). Calling that API through ctypes runs exactly what ``minimap2 -a``
runs: the same multi-threaded pipeline (reading, mapping, pairing, SAM formatting in C), with
no per-read Python. The mappy engine uses it because formatting SAM in Python from mappy's
hit objects cost ~25 % more CPU than the minimap2 binary (measured: 0.83x its throughput) and
had to re-derive what minimap2 decides internally (primary pair, proper-pair flag, read 2's
query coordinates). Here the records *are* minimap2's: byte for byte those of
``minimap2 -ax <preset> --secondary=no`` of the installed mappy's version.

This module runs as a child process (``python .../libminimap2.py ...``; it imports only the
standard library and mappy) whose stdout is the sorter's stdin (minimap2 writes SAM to C
``stdout``); minimap2 reads the FASTQ files itself while the parent checks them with the
reads layer (``genogan.align.engines``).

The ABI used is small and stable across mappy 2.28-2.31 (checked against their headers):
opaque option structs filled by ``mm_set_opt``, plus the leading fields of ``mm_mapopt_t`` up
to ``max_frag_len`` (:class:`_MapOptHead`), whose defaults are read back before anything is
written: a mappy whose layout differs stops with a message instead of mapping with wrong
options.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import sys

# minimap2's MM_F_* option bits (minimap.h)
MM_F_CIGAR = 0x004
MM_F_OUT_SAM = 0x008
MM_F_NO_PRINT_2ND = 0x4000
MM_I_NO_SEQ = 0x2  # MM_I_* index flag: built without the reference sequences
# The option structs are opaque here except their head; these sizes are generous upper bounds
# (mm_idxopt_t is 24 bytes, mm_mapopt_t ~300 in mappy 2.31).
_IDXOPT_BYTES = 1 << 10
_MAPOPT_BYTES = 1 << 12
_STDOUT_BUFFER = None
_IOFBF = 0  # setvbuf's full-buffering mode (glibc, musl and macOS agree)
EXIT_FAILED = 1
EXIT_NO_LIBRARY = 3
EXIT_BAD_REFERENCE = 4


class _MapOptHead(ctypes.Structure):
    """The first fields of minimap2's mm_mapopt_t (identical in mappy 2.28-2.31)."""

    _fields_ = [("flag", ctypes.c_int64), ("seed", ctypes.c_int), ("sdust_thres", ctypes.c_int),
                ("max_qlen", ctypes.c_int), ("bw", ctypes.c_int), ("bw_long", ctypes.c_int),
                ("max_gap", ctypes.c_int), ("max_gap_ref", ctypes.c_int),
                ("max_frag_len", ctypes.c_int)]


# mm_mapopt_init's values of the head fields before max_frag_len (seed, bw, bw_long, max_gap,
# max_gap_ref): reading them back checks the layout before max_frag_len is written.
_KNOWN_DEFAULTS = (11, 500, 20000, 5000, -1)


def _defaults(head: _MapOptHead) -> tuple[int, ...]:
    return head.seed, head.bw, head.bw_long, head.max_gap, head.max_gap_ref


class _IdxHead(ctypes.Structure):
    """The first fields of minimap2's mm_idx_t (identical in mappy 2.28-2.31)."""

    _fields_ = [("b", ctypes.c_int32), ("w", ctypes.c_int32), ("k", ctypes.c_int32),
                ("flag", ctypes.c_int32), ("n_seq", ctypes.c_uint32)]


def _mappy_version() -> str:
    import mappy

    return mappy.__version__


def load_library():
    """The minimap2 C library inside mappy's extension module, with the functions typed."""
    import mappy

    lib = ctypes.CDLL(mappy.__file__)
    vp, cp, ci = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    for name, restype, argtypes in (
            ("mm_set_opt", ci, (cp, vp, vp)),
            ("mm_check_opt", ci, (vp, vp)),
            ("mm_idx_reader_open", vp, (cp, vp, cp)),
            ("mm_idx_reader_read", vp, (vp, ci)),
            ("mm_idx_reader_eof", ci, (vp,)),
            ("mm_idx_reader_close", None, (vp,)),
            ("mm_idx_destroy", None, (vp,)),
            ("mm_mapopt_update", None, (vp, vp)),
            ("mm_write_sam_hdr", ci, (vp, cp, cp, ci, vp)),
            ("mm_map_file_frag", ci, (vp, ci, ctypes.POINTER(cp), vp, ci))):
        func = getattr(lib, name)  # AttributeError: not exported by this mappy build
        func.restype, func.argtypes = restype, argtypes
    return lib


def map_to_sam(target: str, queries: list[str], threads: int, preset: str, rg_line: str,
               extra_header: str, max_frag_len: int) -> int:
    """Map `queries` (one file, or the two mate files) to `target` (FASTA or .mmi) and write
    SAM to stdout, as ``minimap2 -ax preset --secondary=no -R rg_line -F max_frag_len``
    does; `extra_header` lines follow minimap2's header. Returns the exit code."""
    try:
        lib = load_library()
    except (ImportError, OSError, AttributeError) as err:
        print(f"mappy does not expose minimap2's C library ({err})", file=sys.stderr)
        return EXIT_NO_LIBRARY
    ctypes.c_int.in_dll(lib, "mm_verbose").value = 3  # progress lines, as the binary prints
    _buffer_c_stdout()
    iopt = ctypes.create_string_buffer(_IDXOPT_BYTES)
    mopt = ctypes.create_string_buffer(_MAPOPT_BYTES)
    lib.mm_set_opt(None, iopt, mopt)
    head = _MapOptHead.from_buffer(mopt)
    if _defaults(head) != _KNOWN_DEFAULTS:  # the head's layout is not the one known here
        print(f"mappy {_mappy_version()}: minimap2's option struct does not start as in mappy "
              f"2.28-2.31 (defaults read {_defaults(head)})", file=sys.stderr)
        return EXIT_NO_LIBRARY
    if lib.mm_set_opt(preset.encode(), iopt, mopt) < 0:
        print(f"unknown minimap2 preset '{preset}'", file=sys.stderr)
        return EXIT_FAILED
    head.flag |= MM_F_OUT_SAM | MM_F_CIGAR | MM_F_NO_PRINT_2ND
    head.max_frag_len = max_frag_len
    if lib.mm_check_opt(iopt, mopt) < 0:  # minimap2 says why on stderr
        return EXIT_FAILED
    reader = lib.mm_idx_reader_open(target.encode(), iopt, None)
    if not reader:
        print(f"cannot open the reference or index '{target}'", file=sys.stderr)
        return EXIT_BAD_REFERENCE
    try:
        index = lib.mm_idx_reader_read(reader, threads)
        problem = _index_problem(index, lib.mm_idx_reader_eof(reader))
        if problem:
            print(f"'{target}' {problem}", file=sys.stderr)
            return EXIT_BAD_REFERENCE
    finally:
        lib.mm_idx_reader_close(reader)
    try:
        version = _mappy_version().encode()  # mappy's version is its minimap2's
        if lib.mm_write_sam_hdr(index, rg_line.encode(), version, 0, None) != 0:
            return EXIT_FAILED  # a read-group line minimap2 rejects (it says why)
        _write_after_c_stdout(extra_header)
        lib.mm_mapopt_update(mopt, index)
        names = (ctypes.c_char_p * len(queries))(*(q.encode() for q in queries))
        ret = lib.mm_map_file_frag(index, len(queries), names, mopt, max(threads, 1))
    finally:
        lib.mm_idx_destroy(index)
    _flush_c_stdio()
    return 0 if ret >= 0 else EXIT_FAILED


def _index_problem(index, single_part: bool) -> str | None:
    """What makes an index unusable here (the minimap2 binary would map every read to nothing
    against a file with no sequences, e.g. a text file given as .mmi)."""
    if not index:
        return "could not be read as a FASTA or a minimap2 index"
    head = _IdxHead.from_address(index)
    if head.n_seq == 0:
        return "holds no reference sequences (not a FASTA or a minimap2 .mmi?)"
    if head.flag & MM_I_NO_SEQ:
        return "is a minimap2 index without the sequences, which alignment needs (drop -s)"
    if not single_part:
        return ("holds more than one index part (a reference larger than minimap2's -I batch "
                "size); build the index with a larger -I")
    return None


def _buffer_c_stdout(size: int = 1 << 20) -> None:
    """Fully buffer C's stdout (where minimap2 writes SAM): Python leaves it unbuffered under
    PYTHONUNBUFFERED (or -u), which costs one write() per SAM line (measured: 400,005 writes
    for 100,000 pairs instead of ~22,000, +60 % system time); 1 MiB also beats the 4 KiB a
    pipe gets by default."""
    global _STDOUT_BUFFER
    libc = ctypes.CDLL(None)
    for symbol in ("stdout", "__stdoutp"):  # glibc and musl; macOS
        try:
            stdout = ctypes.c_void_p.in_dll(libc, symbol)
            break
        except ValueError:
            continue
    else:
        print("C stdout not found: SAM output stays as Python left it", file=sys.stderr)
        return
    libc.setvbuf.argtypes = (ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_size_t)
    # Our own buffer: with buf NULL, glibc keeps the 1-byte buffer of the unbuffered mode.
    _STDOUT_BUFFER = ctypes.create_string_buffer(size)  # lives as long as the process
    if libc.setvbuf(stdout, _STDOUT_BUFFER, _IOFBF, size) != 0:
        print("setvbuf failed on C stdout: SAM output stays as Python left it", file=sys.stderr)


def _flush_c_stdio() -> None:
    ctypes.CDLL(None).fflush(None)


def _write_after_c_stdout(text: str) -> None:
    """Write to fd 1 after what C's stdout has buffered (minimap2 writes through stdio)."""
    _flush_c_stdio()
    data = text.encode()
    while data:
        data = data[os.write(1, data):]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--preset", default="sr")
    parser.add_argument("--rg", required=True, help="@RG line with escaped tabs (\\t)")
    parser.add_argument("--extra-header", default="")
    parser.add_argument("--max-frag-len", type=int, default=800)
    parser.add_argument("queries", nargs="+")
    args = parser.parse_args(argv)
    return map_to_sam(args.target, args.queries, args.threads, args.preset, args.rg,
                      args.extra_header, args.max_frag_len)


if __name__ == "__main__":
    sys.exit(main())
