job(
    "optimize_oips",
    oip=SETTINGS.oip,
    ascent=SETTINGS.ascent,
    scale=SETTINGS.input_scale,
)


rule optimize_oips:
    input:
        unpack(precursor_inputs),
        cnn=CNN,
    output:
        result=paths.in_results(paths.OPTIMIZE_FILES["optimize_oips"][0]),
        summary=paths.in_results(paths.OPTIMIZE_FILES["optimize_oips"][1]),
    log:
        log_of("optimize_oips"),
    benchmark:
        benchmark_of("optimize_oips")
    resources:
        gpu=GPU,
    params:
        made_by=made_by("optimize_oips"),
        oip=oip_params,
        step_size=SETTINGS.ascent.step_size,
        input_scale=SETTINGS.input_scale.params(),
    run:
        run_job(rule, input, output, params, wildcards, log)


job(
    "optimize_robust",
    oip=SETTINGS.oip,
    robust=SETTINGS.robust,
    ascent=SETTINGS.ascent,
    scale=SETTINGS.input_scale,
)


rule optimize_robust:
    input:
        unpack(precursor_inputs),
        unpack(bounds_input),
        cnn=CNN,
    output:
        result=paths.in_results(paths.OPTIMIZE_FILES["optimize_robust"][0]),
        summary=paths.in_results(paths.OPTIMIZE_FILES["optimize_robust"][1]),
    log:
        log_of("optimize_robust"),
    benchmark:
        benchmark_of("optimize_robust")
    resources:
        gpu=GPU,
    params:
        made_by=made_by(
            "optimize_oips", reads=HELD_OUT if SETTINGS.robust.bounded else ()
        ),
        oip=oip_params,
        robust=params_of("robust", leave_out="switch"),
        step_size=SETTINGS.ascent.step_size,
        input_scale=SETTINGS.input_scale.params(),
    run:
        run_job(rule, input, output, params, wildcards, log)


job("compare_oips", uniqueness=SETTINGS.uniqueness)


rule compare_oips:
    input:
        results=expand(MAP_RESULTS, start=START_KINDS, allow_missing=True),
    output:
        uniqueness=paths.in_results(paths.UNIQUENESS),
    log:
        log_of("compare_oips"),
    benchmark:
        benchmark_of("compare_oips")
    params:
        made_by=made_by("compare_oips"),
        uniqueness=params_of("uniqueness"),
    run:
        run_job(rule, input, output, params, wildcards, log)
