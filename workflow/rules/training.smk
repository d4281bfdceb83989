if SETTINGS.trains:

    rule train_cnn:
        input:
            arrays=rules.prepare_dataset.output.arrays,
            info=rules.prepare_dataset.output.info,
        output:
            cnn="results/model/cnn.keras",
            history="results/model/history.json",
        log:
            "results/logs/train_cnn.log",
        benchmark:
            "results/benchmarks/train_cnn.tsv"
        threads: workflow.cores
        resources:
            gpu=GPU,
        params:
            model=params_of("model"),
            training=params_of("training"),
        run:
            run_job(
                jobs.train_cnn,
                input,
                output,
                wildcards,
                log,
                model=SETTINGS.model,
                training=SETTINGS.training,
            )

    rule plot_training:
        input:
            history=rules.train_cnn.output.history,
        output:
            png=report(
                "results/figures/training.png",
                caption="../report/training.rst",
                category="Training",
            ),
        log:
            "results/logs/plot_training.log",
        benchmark:
            "results/benchmarks/plot_training.tsv"
        run:
            run_job(jobs.plot_training, input, output, wildcards, log)
