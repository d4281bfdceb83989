"""Files: atomic, with the user's permissions, space reserved up front, named errors, per-thread job logs."""

import os
import shutil
import subprocess
import threading

import numpy as np
import pytest

from mnist_oip import storage


def test_outputs_get_the_users_umask_like_any_file(tmp_path):
    storage.save_json(tmp_path / "a.json", {"x": 1})
    storage.save_npz(tmp_path / "b.npz", x=np.arange(3))
    plain = tmp_path / "plain"
    plain.write_text("")
    for name in ("a.json", "b.npz"):
        assert (tmp_path / name).stat().st_mode & 0o777 == plain.stat().st_mode & 0o777 == 0o666 & ~storage._UMASK


def test_a_failed_write_leaves_nothing_and_keeps_the_old_file(tmp_path):
    storage.save_json(tmp_path / "a.json", {"version": 1})
    with pytest.raises(RuntimeError), storage.atomic_path(tmp_path / "a.json") as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")
    assert storage.load_json(tmp_path / "a.json") == {"version": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


def test_wrong_files_are_named(tmp_path):
    np.save(tmp_path / "one.npy", np.arange(4))
    storage.save_npz(tmp_path / "two.npz", indices=np.arange(2))
    (tmp_path / "cut.npz").write_bytes((tmp_path / "two.npz").read_bytes()[:50])
    with pytest.raises(storage.StorageError, match=r"one.npy: a single array, not an .npz archive"):
        storage.load_npz(tmp_path / "one.npy")
    with pytest.raises(storage.StorageError, match=r"two.npz: an .npz archive, not a single .npy array"):
        storage.load_npy(tmp_path / "two.npz")
    with pytest.raises(storage.StorageError, match=r"cut.npz: cannot be read as an .npz file"):
        storage.load_npz(tmp_path / "cut.npz")
    with pytest.raises(storage.StorageError, match=r"two.npz: no array coarse \(has indices\)"):
        storage.load_npz(tmp_path / "two.npz", required=("coarse",))


def test_job_logs_of_threads_side_by_side_stay_apart(tmp_path):
    def job(name):
        with storage.job_log(tmp_path / f"{name}.log") as log:
            for i in range(50):
                log.info(f"{name} line {i}")

    threads = [threading.Thread(target=job, args=(name,)) for name in ("a", "b", "c")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name in ("a", "b", "c"):
        lines = (tmp_path / f"{name}.log").read_text().splitlines()
        assert len(lines) == 52 and all(name in line or "job " in line for line in lines)
        start, end = storage.job_interval(tmp_path / f"{name}.log")
        assert start <= end


def test_a_failed_job_ends_its_log_with_the_reason(tmp_path):
    with pytest.raises(ValueError), storage.job_log(tmp_path / "x.log"):
        raise ValueError("the reason")
    text = (tmp_path / "x.log").read_text()
    assert "ValueError: the reason" in text and storage.job_interval(tmp_path / "x.log") is None


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("mount"), reason="mounting a small tmpfs needs root")
def test_a_full_disk_is_an_error_naming_file_and_size_before_writing(tmp_path):
    disk = tmp_path / "small"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], check=False).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        (disk / "big.npy").write_bytes(b"")
        with pytest.raises(OSError, match=r"cannot reserve 4,000,000 bytes for .*big.npy"):
            storage.reserve(disk / "big.npy", 4_000_000)
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_a_results_folder_that_is_a_file_or_a_broken_link_is_named(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(storage.StorageError, match=r"file is a file; the workflow writes its results in a folder"):
        storage.check_folder(tmp_path / "file")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(storage.StorageError, match=r"dangling is a link to .*nowhere, not to a folder"):
        storage.check_folder(tmp_path / "dangling")
    (tmp_path / "folder").mkdir()
    storage.check_folder(tmp_path / "folder")
    storage.check_folder(tmp_path / "not yet there")
