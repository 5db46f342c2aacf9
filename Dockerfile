# genogan software stack for `snakemake --sdm apptainer` (and plain docker use).
# The workflow itself (Snakefile, workflow/, config/) stays on the host and is bind-mounted by
# Snakemake; the image holds Python, the pinned packages (constraints.txt, the same versions the
# pip path and envs/*.yaml use), Snakemake (script: rules unpickle its objects inside the
# container) and the optional alignment engines.
#
#   docker build -t genogan:0.1.0 .                         # CPU TensorFlow
#   docker build --build-arg GPU=1 -t genogan:0.1.0-gpu .   # CUDA TensorFlow (run with --nv)
#   apptainer build genogan.sif docker-daemon://genogan:0.1.0
#   snakemake --sdm apptainer --config container=$PWD/genogan.sif --profile profiles/local
FROM python:3.11-slim-bookworm

ARG GPU=0
ENV DEBIAN_FRONTEND=noninteractive \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MPLBACKEND=Agg

# Alignment engines for `align.engine: minimap2 | bwa-mem` (the default engine, mappy, is a pip
# package); procps gives `ps`, which Snakemake's job runner uses.
RUN apt-get update \
    && apt-get install -y --no-install-recommends minimap2 bwa samtools procps \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/genogan
# Dependencies first (cached layer), pinned by the one source of truth for versions.
COPY pyproject.toml README.md constraints.txt ./
COPY src ./src
RUN pip install -c constraints.txt . \
    && if [ "$GPU" = "1" ]; then \
         pip uninstall -y tensorflow-cpu \
         && pip install -c constraints.txt "tensorflow[and-cuda]"; \
       fi \
    && python -c "import genogan, keras, mappy, pysam, sklearn, imblearn, snakemake" \
    && minimap2 --version && samtools --version | head -n1

# The workflow, so the image also runs on its own: docker run --rm -v $PWD/out:/work -w /work ...
COPY Snakefile ./
COPY workflow ./workflow
COPY config ./config
COPY envs ./envs
COPY profiles ./profiles

CMD ["snakemake", "--help"]
