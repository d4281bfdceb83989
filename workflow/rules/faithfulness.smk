# How faithful each OIP is to what its map does on the held-out images; needs a data set.
if SETTINGS.has_examples:

    job(
        "measure_oips",
        ascent=SETTINGS.ascent,
        scale=SETTINGS.input_scale,
    )

    rule measure_oips:
        input:
            unpack(held_out_input),
            results=rules.compare_oips.input.results,
            cnn=CNN,
        output:
            faithfulness=paths.in_results(paths.FAITHFULNESS),
        log:
            log_of("measure_oips"),
        benchmark:
            benchmark_of("measure_oips")
        resources:
            gpu=GPU,
        params:
            made_by=made_by("measure_oips", reads=HELD_OUT),
            input_scale=SETTINGS.input_scale.params(),
        run:
            run_job(rule, input, output, params, wildcards, log)
