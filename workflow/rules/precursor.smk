rule score_precursor:
    input:
        model=rules.train_cnn.output.model,
    output:
        scores="results/maps/{layer}/{map}/scores.npy",
    log:
        "results/logs/score_precursor/{layer}/{map}.log",
    benchmark:
        "results/benchmarks/score_precursor/{layer}/{map}.tsv"
    conda:
        "../../envs/oip.yaml"
    threads: 1
    resources:
        gpu=GPU,
    params:
        precursor=settings_of(
            "precursor",
            "grid",
            "levels",
            "steps",
            "strategy",
            "halving_steps",
            "halving_keep",
            "precision",
        ),
        ascent=settings_of("ascent"),
    script:
        "../../scripts/score_precursor.py"


rule select_seeds:
    input:
        scores=rules.score_precursor.output.scores,
    output:
        seeds="results/maps/{layer}/{map}/seeds.npz",
    log:
        "results/logs/select_seeds/{layer}/{map}.log",
    benchmark:
        "results/benchmarks/select_seeds/{layer}/{map}.tsv"
    conda:
        "../../envs/oip.yaml"
    params:
        precursor=settings_of("precursor"),
    script:
        "../../scripts/select_seeds.py"
