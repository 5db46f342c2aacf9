# The reference cohort (optional, `reference_cohort:`): its samples go through the study's own
# feature path (reads: the same align and kmer_profile rules, see common.smk's sample_row), are
# matched to the study's features and checked for study samples (genogan.reference); the space
# fitted on its rows and each generator pretrained on it serve every fold's `+ref` arms.
REFERENCE_OPTIONS = {
    "table": {},
    "expression": output_settings(config["expression"]),
    "sequences": output_settings(config["sequences"]),
    "reads": {"normalise": config["kmers"]["normalise"]},
}[REFERENCE_KIND]


if REFERENCE_COHORT is not None:

    rule reference_matrix:
        input:
            unpack(reference_matrix_inputs),
        output:
            matrix=paths.REFERENCE_MATRIX,
            space=paths.REFERENCE_SPACE,
        log:
            "logs/reference_matrix.log",
        benchmark:
            "logs/benchmark/reference_matrix.tsv"
        conda:
            "../../envs/ml.yaml"
        params:
            kind=REFERENCE_KIND,
            options=REFERENCE_OPTIONS,
            rank=REFERENCE_SETTINGS.rank,
            percentile=REFERENCE_SETTINGS.near_duplicate_percentile,
            fraction=REFERENCE_SETTINGS.near_duplicate_fraction,
            preprocess=config["gan"]["preprocess"],
        script:
            "../scripts/reference_matrix.py"

    # Once per run and model: every fold's `+ref` training starts from these weights.
    rule pretrain:
        input:
            matrix=paths.REFERENCE_MATRIX,
            space=paths.REFERENCE_SPACE,
        output:
            directory(paths.PRETRAINED),
        log:
            "logs/pretrain/{model}.log",
        benchmark:
            "logs/benchmark/pretrain/{model}.tsv"
        wildcard_constraints:
            model="[A-Za-z0-9_]+",
        conda:
            "../../envs/gan.yaml"
        threads: lambda wc: gan_threads(GAN_RESOURCES.threads, local=workflow.local_exec)
        resources:
            mem_mb=lambda wildcards, attempt: GAN_RESOURCES.mem_mb * attempt,
            runtime=GAN_RESOURCES.runtime,
            gpu=lambda wc: gan_gpu_request(GAN_RESOURCES.gpu, local=workflow.local_exec),
            gpu_model=GAN_RESOURCES.gpu_model,
            gres=GAN_RESOURCES.gres,
        params:
            gan=lambda wc: rule_params(config["gan"], wc.model),
            pretrain=as_dict(REFERENCE_SETTINGS.pretrain),
            classes=sorted(SAMPLES["condition"].unique()),
            seed=config["benchmark"]["seed"],
        script:
            "../scripts/pretrain.py"
