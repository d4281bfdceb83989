from helpers import TINY

from mnist_oip import benchmark, model, storage


def conv_cost(size, kernel_channels, filters):
    """2 x multiply-adds of a 3x3 valid convolution that outputs size x size x filters."""
    return 2 * size * size * filters * 9 * kernel_channels


def test_flop_count_follows_the_cropped_shapes():
    cnn = model.build_cnn()
    # map model: the input cropped to 26x26, so conv1 outputs 24x24, conv2 10x10, and conv3 one filter
    assert benchmark.conv_flops(model.map_model(cnn, "conv3", 5)) == (
        conv_cost(24, 1, 32) + conv_cost(10, 32, 64) + conv_cost(3, 64, 1)
    )
    assert benchmark.conv_flops(benchmark.naive_map_model(cnn, "conv3", 5)) == (
        conv_cost(26, 1, 32) + conv_cost(11, 32, 64) + conv_cost(3, 64, 128)
    )


def test_benchmark_times_the_precursor_and_reads_the_run(tiny_run, tmp_path):
    out = tmp_path / "benchmark.json"
    results = tiny_run / "results"
    benchmark.main(
        ["--config", str(TINY), "--model", str(results / "model/cnn.keras"), "--maps", "3"]
        + ["--workflow", str(results), "--out", str(out)]
    )
    figures = storage.load_json(out)
    assert figures["patterns"] == 16 and figures["steps"] == 3
    for name in ("naive", "float32", "bfloat16"):
        assert figures[name]["seconds_per_map"] > 0
        assert figures[name]["image_steps_per_s"] == 16 * 3 / figures[name]["seconds_per_map"]
    assert (
        figures["speedup_float32_over_naive"]
        == figures["naive"]["seconds_per_map"] / figures["float32"]["seconds_per_map"]
    )
    assert 0 <= figures["bfloat16_seeds_in_float32_top"][0] <= 4
    workflow = figures["workflow"]
    for rule in ("score_precursor", "optimize_oips"):
        assert workflow[rule]["jobs"] == 2
        assert 0 < workflow[rule]["compute_seconds_median"] < workflow[rule]["job_seconds_median"]
    assert workflow["train_cnn"]["jobs"] == 1
    assert max(r["job_seconds_median"] for r in workflow.values() if isinstance(r, dict)) <= workflow["wall_seconds"]
