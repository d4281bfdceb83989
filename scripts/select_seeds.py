from mnist_oip.jobs import logged, select_seeds

with logged(snakemake.log[0]):
    select_seeds(snakemake.input.scores, snakemake.params.precursor, snakemake.output.seeds)
