rule optimize_oips:
    input:
        unpack(precursor_inputs),
        cnn=CNN,
    output:
        result="results/maps/{layer}/{map}/{start}.npz",
        summary="results/maps/{layer}/{map}/{start}.json",
    log:
        "results/logs/optimize_oips/{layer}/{map}/{start}.log",
    benchmark:
        "results/benchmarks/optimize_oips/{layer}/{map}/{start}.tsv"
    resources:
        gpu=GPU,
    params:
        oip=oip_params,
        step_size=SETTINGS.ascent.step_size,
    run:
        run_job(
            jobs.optimize_oips,
            input,
            output,
            wildcards,
            log,
            oip=SETTINGS.oip,
            ascent=SETTINGS.ascent,
        )


rule compare_oips:
    input:
        results=expand("results/maps/{{layer}}/{{map}}/{start}.npz", start=START_KINDS),
    output:
        uniqueness="results/maps/{layer}/{map}/uniqueness.json",
    log:
        "results/logs/compare_oips/{layer}/{map}.log",
    benchmark:
        "results/benchmarks/compare_oips/{layer}/{map}.tsv"
    params:
        uniqueness=params_of("uniqueness"),
    run:
        run_job(
            jobs.compare_oips,
            input,
            output,
            wildcards,
            log,
            uniqueness=SETTINGS.uniqueness,
        )
