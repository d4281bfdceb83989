if SETTINGS.has_examples:

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
            examples=params_of("examples"),
        run:
            run_job(
                jobs.find_examples,
                input,
                output,
                wildcards,
                log,
                examples=SETTINGS.examples,
            )
