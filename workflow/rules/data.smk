rule prepare_dataset:
    output:
        arrays="results/data/mnist.npz",
        info="results/data/provenance.json",
    log:
        "results/logs/prepare_dataset.log",
    benchmark:
        "results/benchmarks/prepare_dataset.tsv"
    conda:
        "../../envs/oip.yaml"
    params:
        dataset=settings_of("dataset"),
    script:
        "../../scripts/prepare_dataset.py"
