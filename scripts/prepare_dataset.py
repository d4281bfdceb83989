from mnist_oip.jobs import logged, prepare_dataset

with logged(snakemake.log[0]):
    prepare_dataset(snakemake.params.dataset, snakemake.output.arrays, snakemake.output.info)
