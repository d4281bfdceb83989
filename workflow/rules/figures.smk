rule plot_map:
    input:
        result=rules.optimize_oips.output.result,
        uniqueness=rules.compare_oips.output.uniqueness,
    output:
        report(
            "results/maps/{layer}/{map}/figure.png",
            caption="../report/map.rst",
            category="Maps",
            labels={"layer": "{layer}", "map": "{map}"},
        ),
    log:
        "results/logs/plot_map/{layer}/{map}.log",
    benchmark:
        "results/benchmarks/plot_map/{layer}/{map}.tsv"
    conda:
        "../../envs/oip.yaml"
    params:
        figures=settings_of("figures"),
    script:
        "../../scripts/plot_map.py"


rule summarize:
    input:
        results=expand(rules.optimize_oips.output.result, layer=LAYER, map=MAPS),
        summaries=expand(rules.optimize_oips.output.summary, layer=LAYER, map=MAPS),
        uniqueness=expand(rules.compare_oips.output.uniqueness, layer=LAYER, map=MAPS),
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
    log:
        "results/logs/summarize.log",
    benchmark:
        "results/benchmarks/summarize.tsv"
    conda:
        "../../envs/oip.yaml"
    params:
        figures=settings_of("figures"),
    script:
        "../../scripts/summarize.py"
