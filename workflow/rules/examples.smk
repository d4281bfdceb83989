if SETTINGS.has_examples:

    job("find_examples", examples=SETTINGS.examples)

    rule find_examples:
        input:
            unpack(held_out_input),
            cnn=CNN,
        output:
            examples=paths.in_results(paths.EXAMPLES),
        log:
            log_of("find_examples"),
        benchmark:
            benchmark_of("find_examples")
        resources:
            gpu=GPU,
        params:
            made_by=made_by("find_examples", reads=HELD_OUT),
            examples=params_of("examples"),
        run:
            run_job(rule, input, output, params, wildcards, log)
