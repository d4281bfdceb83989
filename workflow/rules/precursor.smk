rule score_precursor:
    input:
        model=rules.train_cnn.output.model,
    output:
        scores="results/maps/{layer}/{map}/scores.npy",
    params:
        precursor={key: config["precursor"][key] for key in ("grid", "levels", "steps")},
        ascent=config["ascent"],
    threads: 2
    resources:
        gpu=1,
    log:
        "results/logs/score_precursor/{layer}/{map}.log",
    benchmark:
        "results/benchmarks/score_precursor/{layer}/{map}.tsv"
    script:
        "../../scripts/score_precursor.py"


rule select_seeds:
    input:
        scores=rules.score_precursor.output.scores,
    output:
        seeds="results/maps/{layer}/{map}/seeds.npz",
    params:
        precursor={key: config["precursor"][key] for key in ("grid", "levels", "keep")},
    log:
        "results/logs/select_seeds/{layer}/{map}.log",
    benchmark:
        "results/benchmarks/select_seeds/{layer}/{map}.tsv"
    script:
        "../../scripts/select_seeds.py"
