# Original input patterns of a CNN's feature maps: data -> CNN -> per-map precursor -> seeds -> OIPs -> figures,
# and per layer the held-out images that drive each map.


configfile: f"{workflow.basedir}/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/training.smk"
include: "workflow/rules/precursor.smk"
include: "workflow/rules/oip.smk"
include: "workflow/rules/examples.smk"
include: "workflow/rules/faithfulness.smk"
include: "workflow/rules/figures.smk"


# Every rule gives its job what the job takes, checked before any job runs.
check_rules(workflow.rules)


# The report opens on what this run did and found, a page the summary writes.
report: os.path.abspath(rules.summarize.output.report_page)


rule all:
    input:
        rules.summarize.output,
        rules.plot_training.output if SETTINGS.trains else [],
        expand(rules.summarize_layer.output, layer=LAYERS),
        every_map(
            rules.score_precursor.output
            + rules.select_seeds.output
            + rules.compare_oips.output
            + rules.plot_map.output
            + (rules.measure_oips.output if SETTINGS.has_examples else [])
        ),
        every_map(expand(MAP_RESULTS, start=START_KINDS, allow_missing=True)),
