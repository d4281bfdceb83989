rule train_cnn:
    input:
        arrays=rules.prepare_dataset.output.arrays,
        info=rules.prepare_dataset.output.info,
    output:
        model="results/model/cnn.keras",
        history="results/model/history.json",
    log:
        "results/logs/train_cnn.log",
    benchmark:
        "results/benchmarks/train_cnn.tsv"
    conda:
        "../../envs/oip.yaml"
    threads: 2
    resources:
        gpu=GPU,
    params:
        model=settings_of("model"),
        training=settings_of("training"),
    script:
        "../../scripts/train_cnn.py"


rule plot_training:
    input:
        rules.train_cnn.output.history,
    output:
        report(
            "results/figures/training.png",
            caption="../report/training.rst",
            category="Training",
        ),
    log:
        "results/logs/plot_training.log",
    benchmark:
        "results/benchmarks/plot_training.tsv"
    conda:
        "../../envs/oip.yaml"
    script:
        "../../scripts/plot_training.py"
