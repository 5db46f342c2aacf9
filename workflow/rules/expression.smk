# Gene-expression matrix -> transformed samples x genes feature matrix (input_type: expression).
# The gene filter (`expression.filter`) is fitted per training fold by the benchmark, not here.


if INPUT_TYPE == "expression":

    rule expression_matrix:
        input:
            unpack(expression_inputs),
        output:
            matrix="results/features/matrix.parquet",
            names="results/features/feature_names.txt",
        params:
            expression=output_settings(config["expression"]),
        log:
            "logs/expression_matrix.log",
        benchmark:
            "logs/benchmark/expression_matrix.tsv"
        resources:
            mem_mb=config["expression"]["mem_mb"],
        conda:
            "../../envs/ml.yaml"
        script:
            "../scripts/expression_matrix.py"
