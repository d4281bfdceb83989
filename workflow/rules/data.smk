if SETTINGS.trains:

    rule prepare_dataset:
        output:
            arrays="results/data/mnist.npz",
            info="results/data/provenance.json",
        log:
            "results/logs/prepare_dataset.log",
        benchmark:
            "results/benchmarks/prepare_dataset.tsv"
        params:
            dataset=params_of("dataset"),
        run:
            run_job(
                jobs.prepare_dataset,
                input,
                output,
                wildcards,
                log,
                dataset=SETTINGS.dataset,
            )
