from snakemake.utils import min_version

from mnist_oip import settings

min_version("9.0")


settings.validate(config, f"{workflow.basedir}/workflow/schemas/config.schema.yaml")

LAYER = config["maps"]["layer"]
MAPS = settings.map_indices(config)
settings.check_precursor(config["precursor"])


wildcard_constraints:
    layer=r"conv\d+",
    map=r"\d+",

