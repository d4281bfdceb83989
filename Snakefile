# Original input patterns of a CNN's feature maps: data -> CNN -> per-map precursor -> seeds -> OIPs -> figures.


configfile: f"{workflow.basedir}/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/training.smk"
include: "workflow/rules/precursor.smk"
include: "workflow/rules/oip.smk"
include: "workflow/rules/figures.smk"


rule all:
    input:
        "results/gallery.png",
        "results/summary.csv",
        "results/summary.md",
        "results/summary.html",
        "results/figures/training.png",
        expand("results/maps/{layer}/{map}/figure.png", layer=LAYER, map=MAPS),
