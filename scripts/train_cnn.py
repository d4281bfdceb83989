from mnist_oip.jobs import logged, train_cnn

with logged(snakemake.log[0]):
    train_cnn(
        snakemake.input.arrays,
        snakemake.input.info,
        snakemake.params.model,
        snakemake.params.training,
        snakemake.output.model,
        snakemake.output.history,
        snakemake.threads,
    )
