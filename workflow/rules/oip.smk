rule optimize_oips:
    input:
        model=rules.train_cnn.output.model,
        seeds=rules.select_seeds.output.seeds,
    output:
        result="results/maps/{layer}/{map}/oips.npz",
        summary="results/maps/{layer}/{map}/summary.json",
    params:
        oip=config["oip"],
        step_size=config["ascent"]["step_size"],
    threads: 2
    resources:
        gpu=1,
    log:
        "results/logs/optimize_oips/{layer}/{map}.log",
    benchmark:
        "results/benchmarks/optimize_oips/{layer}/{map}.tsv"
    script:
        "../../scripts/optimize_oips.py"
