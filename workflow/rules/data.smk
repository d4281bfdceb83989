if SETTINGS.trains:

    job("prepare_dataset", dataset=SETTINGS.dataset)

    rule prepare_dataset:
        input:
            files=data.source_files(SETTINGS.dataset.source, SETTINGS.dataset.path),
        output:
            arrays=paths.in_results(paths.ARRAYS),
            info=paths.in_results(paths.PROVENANCE),
        log:
            log_of("prepare_dataset"),
        benchmark:
            benchmark_of("prepare_dataset")
        params:
            made_by=made_by("prepare_dataset", reads=DATA_FILES),
            dataset=SETTINGS.dataset.params(),
        run:
            run_job(rule, input, output, params, wildcards, log)
