# The built-in demo cohort: simulated deterministically, never shipped.
DEMO_SAMPLES = SAMPLES.index.tolist() if DEMO else []


rule simulate_demo:
    output:
        reference=f"{DEMO_DIR}/reference.fa",
        fai=f"{DEMO_DIR}/reference.fa.fai",
        sheet=f"{DEMO_DIR}/samples.tsv",
        reads=expand(
            f"{DEMO_DIR}/reads/{{sample}}_{{mate}}.fastq.gz",
            sample=DEMO_SAMPLES,
            mate=["R1", "R2"],
        ),
    log:
        "logs/simulate_demo.log",
    benchmark:
        "logs/benchmark/simulate_demo.tsv"
    conda:
        "../../envs/ml.yaml"
    params:
        demo=config["demo"],
        expected_sheet=config["samples"],
    script:
        "../scripts/simulate_demo.py"
