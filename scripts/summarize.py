from mnist_oip.jobs import logged, summarize

with logged(snakemake.log[0]):
    summarize(
        snakemake.input.results,
        snakemake.input.summaries,
        snakemake.input.uniqueness,
        snakemake.params.figures,
        snakemake.output.gallery,
        snakemake.output.csv,
        snakemake.output.markdown,
        snakemake.output.html,
    )
