"""The GPU path, as far as it can be checked without a GPU: a job given a GPU that sees none
fails clearly, `make env GPU=1` installs the CUDA build, and the SLURM gres recipe asks for one
kind of GPU request only."""

import subprocess
import sys

import pytest
import yaml

from conftest import REPO
from genogan.config_check import check_gpu_request
from genogan.errors import GenoganInputError

sys.path.insert(0, str(REPO / "tests"))
from test_profiles import FakeJob, get_submit_command, set_gres_string  # noqa: E402

runtime = pytest.importorskip("genogan.generators.runtime")


@pytest.mark.parametrize("environ", [{"CUDA_VISIBLE_DEVICES": "0"}, {"SLURM_JOB_GPUS": "3"}])
def test_job_given_a_gpu_that_sees_none_fails_clearly(environ):
    with pytest.raises(GenoganInputError) as err:
        runtime.check_gpu_visible(gpus=[], environ=environ)
    message = str(err.value)
    assert "given a GPU" in message and next(iter(environ.values())) in message
    assert "make env GPU=1" in message and "gan.resources.gpu: 0" in message


@pytest.mark.parametrize("environ", [{}, {"CUDA_VISIBLE_DEVICES": ""},
                                     {"CUDA_VISIBLE_DEVICES": "-1"}])
def test_job_without_a_gpu_grant_trains_on_cpu(environ):
    runtime.check_gpu_visible(gpus=[], environ=environ)  # no error


def test_gpu_grant_with_a_visible_gpu_passes_and_opt_out_works():
    runtime.check_gpu_visible(gpus=["GPU:0"], environ={"CUDA_VISIBLE_DEVICES": "0"})
    runtime.check_gpu_visible(gpus=[], environ={"CUDA_VISIBLE_DEVICES": "0",
                                                runtime.ALLOW_CPU_VARIABLE: "1"})


def test_this_machine_without_grant_passes_the_real_check():
    """The real TensorFlow device list, on a machine whose scheduler granted no GPU."""
    environ = {k: v for k, v in __import__("os").environ.items()
               if k not in runtime.GPU_GRANT_VARIABLES}
    runtime.check_gpu_visible(environ=environ)


def test_make_env_gpu_installs_the_cuda_build():
    plan = subprocess.run(["make", "-n", "-B", "env", "GPU=1"], cwd=REPO, capture_output=True,
                          text=True, check=True).stdout
    assert "pip uninstall --quiet -y tensorflow-cpu" in plan
    assert "'tensorflow[and-cuda]'" in plan and "-c constraints.txt" in plan
    cpu_plan = subprocess.run(["make", "-n", "-B", "env"], cwd=REPO, capture_output=True,
                              text=True, check=True).stdout
    assert "and-cuda" not in cpu_plan


def _sbatch(resources: dict) -> str:
    job = FakeJob("train_gan", resources, 2)
    params = dict(run_uuid="run", slurm_logfile="log/%j.log", comment_str="rule_train_gan",
                  account="", partition="", workdir="/work")
    return get_submit_command(job, params) + set_gres_string(job)


def test_gres_recipe_asks_for_gres_only():
    """profiles/slurm/README.md's recipe (gpu 0 + gres) gives --gres and no --gpus; gres with gpu
    left at 1 gives both, which is why validation refuses it."""
    recipe = _sbatch({"gpu": 0, "gres": "gpu:1", "mem_mb": 1000, "runtime": 10})
    assert "--gres=gpu:1" in recipe and "--gpus" not in recipe
    both = _sbatch({"gpu": 1, "gres": "gpu:1", "mem_mb": 1000, "runtime": 10})
    assert "--gres=gpu:1" in both and "--gpus=1" in both
    readme = (REPO / "profiles/slurm/README.md").read_text()
    assert "set `gpu: 0` **and** `gres:" in readme


def test_validation_refuses_gres_together_with_gpu():
    check_gpu_request({"gpu": 0, "gres": "gpu:1"}, "c.yaml")
    check_gpu_request({"gpu": 1, "gres": ""}, "c.yaml")
    with pytest.raises(GenoganInputError, match="gan.resources.gpu: 0"):
        check_gpu_request({"gpu": 1, "gres": "gpu:1"}, "c.yaml")


def test_conda_gan_env_pins_a_conda_forge_tensorflow_and_says_how_to_pick_cuda():
    env = (REPO / "envs/gan.yaml").read_text()
    deps = yaml.safe_load(env)["dependencies"]
    assert "tensorflow=2.19.1" in deps  # conda-forge's newest (tensorflow-feedstock)
    assert "CONDA_OVERRIDE_CUDA" in env and "tensorflow=2.19.1=cuda*" in env
