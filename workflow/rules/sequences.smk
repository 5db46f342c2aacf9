# Protein or nucleotide sequences (FASTA) -> dense k-mer feature matrix (input_type: sequences).


if INPUT_TYPE == "sequences":

    rule sequence_matrix:
        input:
            unpack(sequence_inputs),
        output:
            matrix=paths.MATRIX,
            names=paths.FEATURE_NAMES,
        log:
            "logs/sequence_matrix.log",
        benchmark:
            "logs/benchmark/sequence_matrix.tsv"
        conda:
            "../../envs/ml.yaml"
        resources:
            mem_mb=config["sequences"]["mem_mb"],
        params:
            sequences=output_settings(config["sequences"]),
        script:
            "../scripts/sequence_matrix.py"
