rule prepare_dataset:
    output:
        arrays="results/data/mnist.npz",
        info="results/data/provenance.json",
    params:
        dataset=config["dataset"],
    log:
        "results/logs/prepare_dataset.log",
    benchmark:
        "results/benchmarks/prepare_dataset.tsv"
    script:
        "../../scripts/prepare_dataset.py"
