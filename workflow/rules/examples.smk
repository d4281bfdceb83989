if SETTINGS.has_examples:

    rule find_examples:
        input:
            unpack(held_out_input),
            cnn=CNN,
        output:
            examples="results/maps/{layer}/examples.npz",
        log:
            "results/logs/find_examples/{layer}.log",
        benchmark:
            "results/benchmarks/find_examples/{layer}.tsv"
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
