if SETTINGS.has_examples:

    job("find_examples", jobs.find_examples, examples=SETTINGS.examples)

    rule find_examples:
        input:
            unpack(held_out_input),
            cnn=CNN,
        output:
            examples=paths.in_results(paths.EXAMPLES),
        log:
            paths.log("find_examples", "layer"),
        benchmark:
            paths.benchmark("find_examples", "layer")
        resources:
            gpu=GPU,
        params:
            made_by=made_by("find_examples", reads=HELD_OUT),
            examples=params_of("examples"),
        run:
            run_job(rule, input, output, params, wildcards, log)
