from mnist_oip.jobs import logged, score_precursor

with logged(snakemake.log[0]):
    score_precursor(
        snakemake.input.model,
        snakemake.wildcards.layer,
        int(snakemake.wildcards.map),
        snakemake.params.precursor,
        snakemake.params.ascent["step_size"],
        snakemake.params.ascent["batch_size"],
        snakemake.output.scores,
        snakemake.threads,
    )
