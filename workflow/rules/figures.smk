job("plot_map", figures=SETTINGS.figures)


rule plot_map:
    input:
        unpack(examples_input),
        results=rules.compare_oips.input.results,
        groups=rules.compare_oips.output.uniqueness,
    output:
        png=report(
            paths.in_results(paths.MAP_FIGURE),
            caption="../report/map.rst",
            category="Maps",
            subcategory="{layer}",
            labels={"layer": "{layer}", "map": "{map}"},
        ),
    log:
        log_of("plot_map"),
    benchmark:
        benchmark_of("plot_map")
    params:
        made_by=made_by("plot_map"),
        figures=params_of("figures", leave_out="gallery"),
    run:
        run_job(rule, input, output, params, wildcards, log)


# The heat map of class profiles needs a data set to take them from.
CLASS_PROFILES = {
    "classes": report(
        paths.in_results(paths.CLASS_PROFILES),
        caption="../report/classes.rst",
        category="Layers",
        subcategory="{layer}",
    )
}


job("summarize_layer", figures=SETTINGS.figures)


rule summarize_layer:
    input:
        unpack(examples_input),
        unpack(faithfulness_input),
        results=layer_maps(rules.compare_oips.input.results),
        groups=layer_maps(rules.compare_oips.output.uniqueness),
        scorings=layer_maps(rules.score_precursor.output.scoring),
    output:
        **(CLASS_PROFILES if SETTINGS.has_examples else {}),
        gallery=report(
            paths.in_results(paths.GALLERY),
            caption="../report/gallery.rst",
            category="Layers",
            subcategory="{layer}",
        ),
        strategies=report(
            paths.in_results(paths.STRATEGY_GALLERY),
            caption="../report/strategies.rst",
            category="Layers",
            subcategory="{layer}",
        ),
        summary=paths.in_results(paths.LAYER_SUMMARY),
    log:
        log_of("summarize_layer"),
    benchmark:
        benchmark_of("summarize_layer")
    params:
        made_by=made_by("summarize_layer"),
        figures=params_of("figures"),
    run:
        run_job(rule, input, output, params, wildcards, log)


job("summarize", scale=SETTINGS.input_scale)


rule summarize:
    input:
        unpack(trained_input),
        layers=expand(rules.summarize_layer.output.summary, layer=LAYERS),
    output:
        csv=paths.in_results(paths.SUMMARY_CSV),
        markdown=paths.in_results(paths.SUMMARY_MARKDOWN),
        html=report(
            paths.in_results(paths.SUMMARY_HTML),
            caption="../report/summary.rst",
            category="Overview",
        ),
        report_page=paths.in_results(paths.REPORT_PAGE),
    log:
        log_of("summarize"),
    benchmark:
        benchmark_of("summarize")
    params:
        made_by=made_by("summarize"),
    run:
        run_job(rule, input, output, params, wildcards, log)
