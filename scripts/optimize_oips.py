from mnist_oip.jobs import logged, optimize_map

with logged(snakemake.log[0]):
    optimize_map(
        snakemake.input.model,
        snakemake.wildcards.layer,
        int(snakemake.wildcards.map),
        snakemake.input.seeds,
        snakemake.params.oip,
        snakemake.params.step_size,
        snakemake.output.result,
        snakemake.output.summary,
        snakemake.threads,
    )
