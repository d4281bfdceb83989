rule plot_map:
    input:
        unpack(examples_input),
        results=rules.compare_oips.input.results,
        groups=rules.compare_oips.output.uniqueness,
    output:
        png=report(
            "results/maps/{layer}/{map}/figure.png",
            caption="../report/map.rst",
            category="Maps",
            subcategory="{layer}",
            labels={"layer": "{layer}", "map": "{map}"},
        ),
    log:
        "results/logs/plot_map/{layer}/{map}.log",
    benchmark:
        "results/benchmarks/plot_map/{layer}/{map}.tsv"
    params:
        figures=params_of("figures"),
    run:
        run_job(jobs.plot_map, input, output, wildcards, log, figures=SETTINGS.figures)


# The heat map of class profiles needs a data set to take them from.
CLASS_PROFILES = {
    "classes": report(
        "results/maps/{layer}/classes.png",
        caption="../report/classes.rst",
        category="Layers",
        subcategory="{layer}",
    )
}


rule summarize_layer:
    input:
        unpack(examples_input),
        results=layer_maps(rules.compare_oips.input.results),
        groups=layer_maps(rules.compare_oips.output.uniqueness),
        scorings=layer_maps(rules.score_precursor.output.scoring),
    output:
        **(CLASS_PROFILES if SETTINGS.has_examples else {}),
        gallery=report(
            "results/maps/{layer}/gallery.png",
            caption="../report/gallery.rst",
            category="Layers",
            subcategory="{layer}",
        ),
        summary="results/maps/{layer}/summary.json",
    log:
        "results/logs/summarize_layer/{layer}.log",
    benchmark:
        "results/benchmarks/summarize_layer/{layer}.tsv"
    params:
        figures=params_of("figures"),
    run:
        run_job(
            jobs.summarize_layer,
            input,
            output,
            wildcards,
            log,
            figures=SETTINGS.figures,
        )


rule summarize:
    input:
        unpack(trained_input),
        layers=expand(rules.summarize_layer.output.summary, layer=LAYERS),
    output:
        csv="results/summary.csv",
        markdown="results/summary.md",
        html=report(
            "results/summary.html",
            caption="../report/summary.rst",
            category="Overview",
        ),
        report_page="results/report.rst",
    log:
        "results/logs/summarize.log",
    benchmark:
        "results/benchmarks/summarize.tsv"
    run:
        run_job(jobs.summarize, input, output, wildcards, log)
