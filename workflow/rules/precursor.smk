if SETTINGS.precursor.screens:

    job(
        "screen_patterns",
        precursor=SETTINGS.precursor,
        ascent=SETTINGS.ascent,
        compute=SETTINGS.compute,
        scale=SETTINGS.input_scale,
    )

    rule screen_patterns:
        input:
            cnn=CNN,
        output:
            screen=paths.in_results(paths.SCREEN),
        log:
            log_of("screen_patterns"),
        benchmark:
            benchmark_of("screen_patterns")
        # Alone on the machine: beside other CNN jobs in the process its large batches ran 9 times slower.
        threads: workflow.cores
        resources:
            gpu=GPU,
        params:
            made_by=made_by("screen_patterns"),
            precursor=SETTINGS.precursor.screen_params(),
            input_scale=SETTINGS.input_scale.params(),
        run:
            run_job(rule, input, output, params, wildcards, log)


job(
    "score_precursor",
    precursor=SETTINGS.precursor,
    ascent=SETTINGS.ascent,
    scale=SETTINGS.input_scale,
)


rule score_precursor:
    input:
        unpack(screen_input),
        cnn=CNN,
    output:
        scores=paths.in_results(paths.SCORES),
        scoring=paths.in_results(paths.SCORING),
    log:
        log_of("score_precursor"),
    benchmark:
        benchmark_of("score_precursor")
    resources:
        gpu=GPU,
    params:
        made_by=made_by("score_precursor"),
        precursor=params_of("precursor", leave_out=("selection", "screen", *UNGUIDED)),
        ascent=params_of("ascent"),
        input_scale=SETTINGS.input_scale.params(),
    run:
        run_job(rule, input, output, params, wildcards, log)


job("select_seeds", precursor=SETTINGS.precursor)


rule select_seeds:
    input:
        unpack(candidates_input),
        scores=rules.score_precursor.output.scores,
        scoring=rules.score_precursor.output.scoring,
    output:
        seeds=paths.in_results(paths.SEEDS),
    log:
        log_of("select_seeds"),
    benchmark:
        benchmark_of("select_seeds")
    params:
        made_by=made_by("select_seeds"),
        precursor=params_of("precursor", leave_out=("screen", *UNGUIDED)),
    run:
        run_job(rule, input, output, params, wildcards, log)
