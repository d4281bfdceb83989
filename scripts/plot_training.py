from mnist_oip.jobs import logged, plot_training

with logged(snakemake.log[0]):
    plot_training(snakemake.input[0], snakemake.output[0])
