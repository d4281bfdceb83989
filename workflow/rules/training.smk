if SETTINGS.trains:

    job("train_cnn", model=SETTINGS.model, training=SETTINGS.training)

    rule train_cnn:
        input:
            arrays=rules.prepare_dataset.output.arrays,
            info=rules.prepare_dataset.output.info,
        output:
            cnn=paths.in_results(paths.CNN),
            history=paths.in_results(paths.HISTORY),
        log:
            log_of("train_cnn"),
        benchmark:
            benchmark_of("train_cnn")
        threads: workflow.cores
        resources:
            gpu=GPU,
        params:
            made_by=made_by("train_cnn"),
            model=params_of("model"),
            training=params_of("training"),
        run:
            run_job(rule, input, output, params, wildcards, log)

    job("plot_training")

    rule plot_training:
        input:
            history=rules.train_cnn.output.history,
        output:
            png=report(
                paths.in_results(paths.TRAINING_FIGURE),
                caption="../report/training.rst",
                category="Training",
            ),
        log:
            log_of("plot_training"),
        benchmark:
            benchmark_of("plot_training")
        params:
            made_by=made_by("plot_training"),
        run:
            run_job(rule, input, output, params, wildcards, log)
