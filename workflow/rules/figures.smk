rule plot_map:
    input:
        results=rules.compare_oips.input.results,
        groups=rules.compare_oips.output.uniqueness,
    output:
        png=report(
            "results/maps/{layer}/{map}/figure.png",
            caption="../report/map.rst",
            category="Maps",
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


rule summarize:
    input:
        results=every_map(rules.compare_oips.input.results),
        groups=every_map(rules.compare_oips.output.uniqueness),
        scorings=every_map(rules.score_precursor.output.scoring),
        history=rules.train_cnn.output.history,
        provenance=rules.prepare_dataset.output.info,
    output:
        gallery=report(
            "results/gallery.png", caption="../report/gallery.rst", category="Overview"
        ),
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
    params:
        figures=params_of("figures"),
    run:
        run_job(jobs.summarize, input, output, wildcards, log, figures=SETTINGS.figures)
