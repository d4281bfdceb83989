from mnist_oip.jobs import logged, plot_map

with logged(snakemake.log[0]):
    plot_map(
        snakemake.input.result,
        snakemake.input.uniqueness,
        int(snakemake.wildcards.map),
        snakemake.params.figures,
        snakemake.output[0],
    )
