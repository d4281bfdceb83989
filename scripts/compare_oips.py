from mnist_oip.jobs import compare_oips, logged

with logged(snakemake.log[0]):
    compare_oips(snakemake.input.result, snakemake.params.uniqueness, snakemake.output.uniqueness)
