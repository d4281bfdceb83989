if SETTINGS.precursor.screens:

    rule screen_patterns:
        input:
            cnn=CNN,
        output:
            screen="results/maps/{layer}/screen.npz",
        log:
            "results/logs/screen_patterns/{layer}.log",
        benchmark:
            "results/benchmarks/screen_patterns/{layer}.tsv"
        resources:
            gpu=GPU,
        params:
            precursor=SETTINGS.precursor.screen_params(),
        run:
            run_job(
                jobs.screen_patterns,
                input,
                output,
                wildcards,
                log,
                precursor=SETTINGS.precursor,
                ascent=SETTINGS.ascent,
                compute=SETTINGS.compute,
            )


rule score_precursor:
    input:
        unpack(screen_input),
        cnn=CNN,
    output:
        scores="results/maps/{layer}/{map}/scores.npy",
        scoring="results/maps/{layer}/{map}/scoring.json",
    log:
        "results/logs/score_precursor/{layer}/{map}.log",
    benchmark:
        "results/benchmarks/score_precursor/{layer}/{map}.tsv"
    resources:
        gpu=GPU,
    params:
        precursor=params_of("precursor", leave_out="selection"),
        ascent=params_of("ascent"),
    run:
        run_job(
            jobs.score_precursor,
            input,
            output,
            wildcards,
            log,
            precursor=SETTINGS.precursor,
            ascent=SETTINGS.ascent,
        )


rule select_seeds:
    input:
        scores=rules.score_precursor.output.scores,
    output:
        seeds="results/maps/{layer}/{map}/seeds.npz",
    log:
        "results/logs/select_seeds/{layer}/{map}.log",
    benchmark:
        "results/benchmarks/select_seeds/{layer}/{map}.tsv"
    params:
        precursor=params_of("precursor"),
    run:
        run_job(
            jobs.select_seeds,
            input,
            output,
            wildcards,
            log,
            precursor=SETTINGS.precursor,
        )
