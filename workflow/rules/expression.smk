# Gene-expression matrix -> transformed samples x genes feature matrix (input_type: expression).
# The gene filter (`expression.filter`) is fitted per training fold by the benchmark, not here.


if INPUT_TYPE == "expression":

    rule expression_matrix:
        input:
            unpack(expression_inputs),
        output:
            matrix=paths.MATRIX,
            names=paths.FEATURE_NAMES,
        log:
            "logs/expression_matrix.log",
        benchmark:
            "logs/benchmark/expression_matrix.tsv"
        conda:
            "../../envs/ml.yaml"
        resources:
            mem_mb=config["expression"]["mem_mb"],
        params:
            expression=output_settings(config["expression"]),
        script:
            "../scripts/expression_matrix.py"
