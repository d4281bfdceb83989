rule optimize_oips:
    input:
        model=rules.train_cnn.output.model,
        seeds=rules.select_seeds.output.seeds,
    output:
        result="results/maps/{layer}/{map}/oips.npz",
        summary="results/maps/{layer}/{map}/summary.json",
    log:
        "results/logs/optimize_oips/{layer}/{map}.log",
    benchmark:
        "results/benchmarks/optimize_oips/{layer}/{map}.tsv"
    conda:
        "../../envs/oip.yaml"
    threads: 1
    resources:
        gpu=GPU,
    params:
        oip=settings_of("oip"),
        step_size=config["ascent"]["step_size"],
    script:
        "../../scripts/optimize_oips.py"


rule compare_oips:
    input:
        result=rules.optimize_oips.output.result,
    output:
        uniqueness="results/maps/{layer}/{map}/uniqueness.json",
    log:
        "results/logs/compare_oips/{layer}/{map}.log",
    benchmark:
        "results/benchmarks/compare_oips/{layer}/{map}.tsv"
    conda:
        "../../envs/oip.yaml"
    params:
        uniqueness=settings_of("uniqueness"),
    script:
        "../../scripts/compare_oips.py"
