# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     notebook_metadata_filter: kernelspec,jupytext,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · Setup: seeding and the device
#
# **What you will learn**
# - why a course seeds its random numbers, and how one call, `seed_everything`, seeds all of them;
# - how to check that seeding works: the same seed gives the same numbers, another seed different ones;
# - how the course chooses where tensors live (`get_device`) and how many CPU threads torch uses (`set_threads`);
# - the course's hyper-parameters, one sentence each.
#
# **Prerequisites:** Python, and PyTorch tensors at the level of `torch.randn(3)` and `x.shape`.
#
# **Where we are:** notebook 1 of 7. Before any GAN: make every run repeatable and pick the hardware.

# %% [markdown]
# ## Why seed?
#
# A GAN starts from random weights and draws random noise at every step. Without a seed every run,
# and every student's run, is different. Two draws from an unseeded generator disagree:

# %%
import torch

a = torch.randn(3)
b = torch.randn(3)
print("same numbers without a seed:", torch.equal(a, b))

# %% [markdown]
# Seeding torch by hand fixes torch's numbers: after `torch.manual_seed(0)` the next draws are always
# the same.

# %%
torch.manual_seed(0)
a = torch.randn(3)
torch.manual_seed(0)
b = torch.randn(3)
print("same numbers after torch.manual_seed(0) twice:", torch.equal(a, b))

# %% [markdown]
# But torch is not the only source of randomness: Python's `random` and NumPy have their own. Seeding
# torch leaves NumPy where it was, so its draws still differ:

# %%
import numpy as np

torch.manual_seed(0)
a = np.random.rand(3)
torch.manual_seed(0)
b = np.random.rand(3)
print("NumPy's numbers the same after seeding only torch:", np.array_equal(a, b))

# %% [markdown]
# ## One call seeds everything
#
# `gan_course.seeding.seed_everything(seed)` seeds Python, NumPy and torch (and every CUDA device) at
# once. Here is its source, so you can see there is no magic:

# %%
import inspect

from gan_course.seeding import seed_everything

print(inspect.getsource(seed_everything))

# %% [markdown]
# To prove it works, we need a draw from each source: one number from Python, one from NumPy, three
# from torch. Here is one, after seeding with 0:

# %%
import random


def draw() -> tuple:
    """One number from Python, one from NumPy, three from torch."""
    return random.random(), float(np.random.rand()), torch.randn(3)


seed_everything(0)
draw()

# %% [markdown]
# Now draw twice with seed 0 and once with seed 1. The same seed gives the same numbers from all three
# sources; another seed gives different ones.

# %%
seed_everything(0)
first = draw()
seed_everything(0)
again = draw()
seed_everything(1)
other = draw()
for label, second in (("seed 0 twice, same:", again), ("seed 0 vs 1, same: ", other)):
    print(label, " python", first[0] == second[0], " numpy", first[1] == second[1],
          " torch", torch.equal(first[2], second[2]))

# %% [markdown]
# `seed_everything` also *returns* a `torch.Generator`, a private stream of random numbers. The course
# passes it as `rng=` to everything that shuffles data or draws noise. Its numbers do not depend on how
# many numbers were drawn from the global stream in between (say, by building a model):

# %%
rng = seed_everything(0)
expected = torch.randn(3, generator=rng)

rng = seed_everything(0)
_ = torch.randn(1000)  # other code draws from the global stream...
print("rng's draw unchanged:", torch.equal(torch.randn(3, generator=rng), expected))

# %% [markdown]
# A seed must be a non-negative integer. Mistakes give a `CourseError` that says what was wrong
# (this cell fails on purpose):

# %% tags=["raises-exception"]
seed_everything(-1)

# %% [markdown]
# ## Choosing the device
#
# PyTorch runs on the CPU, on an NVIDIA GPU (`cuda`) or on an Apple GPU (`mps`).
# `available_devices()` lists what this machine has, best first. In the course's standard
# Codespace that is just the CPU; in a GPU Codespace `cuda` comes first.

# %% tags=["nbval-ignore-output"]
from gan_course.device import available_devices, get_device, set_threads

available_devices()

# %% [markdown]
# `get_device()` picks the best one (`"auto"`). Every notebook calls it once and moves its models and
# tensors there with `.to(device)`.

# %% tags=["nbval-ignore-output"]
device = get_device()
print("this notebook runs on:", device)

# %% [markdown]
# To force a device, name it: `get_device("cpu")` works on every machine. (On the command line the
# same choice is `--device cpu`.) A tensor created on the CPU and moved with `.to(device)` lands there:

# %%
cpu = get_device("cpu")
x = torch.zeros(2, 3).to(cpu)
print("device:", cpu, "  the tensor is on:", x.device, "  shape:", tuple(x.shape))

# %% [markdown]
# Asking for a device that does not exist is an error that lists what the machine has (this cell fails
# on purpose; the list in the message depends on the machine):

# %% tags=["raises-exception", "nbval-ignore-output"]
get_device("tpu")

# %% [markdown]
# ## CPU threads
#
# On the CPU, torch can split an operation over several threads. More threads is not always faster. The
# course's benchmark trained the course's GAN on a 2-core machine alone, beside another busy program, and
# two at once (two notebooks training), with 2 threads each and with the course's choice
# (`benchmarks/results.json`, written by `./course.sh benchmark`; `measured_speeds()` reads it):

# %%
from gan_course.device import measured_speeds
from gan_course.visualisation import plot_thread_speeds

fig = plot_thread_speeds(measured_speeds())

# %% [markdown]
# With 2 threads each, two programs on 2 cores keep taking the cores from each other: beside a busy
# program the course's GAN fell from 119 to 33 steps per second, and two at once crawled at 18 steps per
# second each. With one thread each, they barely notice each other (185 alone, 166 beside a busy program,
# 170 two at once). Alone on this idle machine one thread was even faster than two (185 against 119). It is
# not always so: on the same 2-core machine on a slower day two threads were faster alone (69 against 56),
# and on an Intel Xeon measured earlier one thread ran 215 steps per second against 260 for two
# (`benchmarks/README.md`). Where one thread is slower, that is a price worth paying for a class, where the
# machine is seldom idle.
#
# In a class, two notebooks training at once is normal. So `choose_threads()` takes **half of the cores
# no other program is busy on**, at least one: 1 on a 2-core Codespace, 2 on a 4-core one. It watches the
# CPU for a fifth of a second and says why, unless a setting decides (`GAN_COURSE_THREADS`, or
# `OMP_NUM_THREADS` as on the machine that stored this output); the answer depends on the machine:

# %% tags=["nbval-ignore-output"]
from gan_course.device import choose_threads

choose_threads()

# %% [markdown]
# `set_threads()` applies that choice and returns the number now in use. `train()` makes the choice
# once when a run starts and keeps it to the end, and records it in `history.threads`: the same seed and
# the same thread count give the same digits, while another thread count adds numbers up in another
# order and gives slightly different ones.
#
# To fix the number yourself, pass it (`set_threads(1)`, `TrainConfig(threads=1)`, `--threads 1` on the
# command line) or set `GAN_COURSE_THREADS=1` before starting Jupyter. We set one thread and check:

# %%
print("threads after set_threads(1):", set_threads(1))

# %% [markdown]
# What "another order" means: the same ten million numbers, summed with one thread, again, and with two.
# Two threads each sum a share and then add the two shares, so the rounding falls differently:

# %%
x = torch.randn(10_000_000, generator=torch.Generator().manual_seed(0))
for threads in (1, 1, 2):
    set_threads(threads)
    print(f"{threads} thread(s): {x.sum().item():.6f}")
_ = set_threads(1)

# %% [markdown]
# One thread twice gives the same sum to the last digit; two threads differ from the fourth decimal on.
# A training run adds up numbers like these at every step, which is why `train` records its thread count.

# %% [markdown]
# ### How fast is this core?
#
# The course's 2-core machine has come in two paces under the same name: 83 to 102 billion floating-point
# operations a second (GFLOP/s) on one thread on its fast days, 35 on its slow ones (`benchmarks/README.md`).
# A minute of training bought 6,987 steps of the course default on the first in its latest run (7,657 to
# 7,930 before its D was told the pile twice, notebook 07, which costs about 6% a step) and 3,255 on the
# second, and the digits at a given step were the same on both: the slower core draws them later, not
# worse. The notebooks train for a number of steps, so their figures are the same on any machine; only their
# minutes change. One second of products of two 1,024 × 1,024 matrices says which kind of core this is. The
# GFLOP/s do not tell everything: on another day the same reading went with 9.9 ms a step instead of 8.3, so
# two more seconds time the course default's own training step here, now, and scale the benchmark's minute
# by it:

# %% tags=["nbval-ignore-output"]
from gan_course.device import core_gflops, default_step_ms, pace_note

print(pace_note(core_gflops(), step_ms=default_step_ms()))

# %% [markdown]
# ## The course's hyper-parameters
#
# Every later notebook uses the same settings. They live in the library, not in the notebooks:
# `course_default()` describes the training run, and its `.model`, a `ModelConfig`, the networks. We print
# them from there rather than retyping numbers that could drift.

# %%
from gan_course.models import ModelConfig
from gan_course.settings import course_default

train_config = course_default()
model_config = train_config.model
model_config

# %% [markdown]
# One sentence each. (The number of DataLoader worker processes is the default of `make_loader`, which
# notebook 02 introduces.) Four of them, *piles*, *islands*, *truncation* and *projection*, are tricks for cleaner
# digits that notebooks 05 and 07 explain; for now, read them as names.

# %%
from gan_course.batches import make_loader

workers = inspect.signature(make_loader).parameters["num_workers"].default
settings = [
    ("model", model_config.model, "the network family: 'mlp' (fully connected) or 'dcgan' (convolutional)"),
    ("latent_dim", model_config.latent_dim, "length of the noise vector z that the generator turns into a digit"),
    ("g_hidden", model_config.g_hidden, "widths of the MLP generator's hidden layers"),
    ("d_hidden", model_config.d_hidden, "widths of the MLP discriminator's hidden layers: deliberately smaller"),
    ("ngf / ndf", (model_config.ngf, model_config.ndf), "feature maps of the DCGAN generator / discriminator"),
    ("piles", model_config.piles, "the digits sorted into this many piles of look-alikes, told to G and D (07)"),
    ("islands", model_config.islands, "0: none; without piles the noise has 10 islands instead (notebook 05)"),
    ("truncation", model_config.truncation, "when G draws, never in training: its noise's style shrunk to this (07)"),
    ("projection", model_config.projection, "D is told the pile at its output too, not only beside the pixels (07)"),
    ("channels", 1, "MNIST digits are grey: one channel of 28 x 28 pixels"),
]
for name, value, why in settings:
    print(f"{name:>11} = {str(value):<13} {why}")

# %% [markdown]
# And the training run's settings:

# %%
settings = [
    ("batch_size", train_config.batch_size, "real digits (and as many fakes) per training step"),
    ("double_batch_at", train_config.double_batch_at, "from the first epoch after this step, batches twice as big (notebook 05)"),
    ("workers", workers, "DataLoader worker processes: none, the digits are already in memory"),
    ("lr_g / lr_d", (train_config.lr_g, train_config.lr_d), "Adam's learning rate for the generator / discriminator"),
    ("beta1", train_config.beta1, "Adam's momentum: lower than the usual 0.9, as in the DCGAN paper"),
    ("k", train_config.k, "generator steps per discriminator step"),
    ("epochs", train_config.epochs, "passes over the data: None, the course uses a time budget instead"),
    ("seconds", train_config.seconds, "the training budget: 92 to 92.5% confident digits after 60 s (benchmarks/README.md)"),
    ("ema", train_config.ema, "decay of the average of G's weights the digits are drawn from (notebooks 05, 07)"),
    ("r1", train_config.r1, "a penalty that keeps D smooth at the real digits, every 4th step (notebook 07)"),
    ("halve_lr_at", train_config.halve_lr_at, "after this step both learning rates are halved (notebook 07)"),
]
for name, value, why in settings:
    print(f"{name:>15} = {str(value):<13} {why}")

# %% [markdown]
# ## Recap
#
# - Seed once, at the top: `rng = seed_everything(0)` seeds Python, NumPy and torch, and returns a
#   generator `rng` for shuffling and noise.
# - Check it: the same seed gives the same numbers, another seed different ones.
# - `device = get_device()` picks CUDA, else Apple's GPU, else the CPU; `get_device("cpu")` forces one.
# - `set_threads()` takes half the free CPU cores (1 on a 2-core machine) unless `GAN_COURSE_THREADS` or
#   `OMP_NUM_THREADS` says otherwise; `train()` records its threads.
# - `pace_note(core_gflops(), step_ms=default_step_ms())` says how fast this core is against the benchmark's,
#   and what a minute of training buys here: the same steps give the same digits on any core, sooner or later.
# - The hyper-parameters come from `course_default()` and its `ModelConfig`.
#
# ## Try this
#
# 1. Replace `seed_everything(1)` by `seed_everything(0)` in the cell that draws `first`, `again` and
#    `other`: which booleans change?
# 2. Call `draw()` twice after one `seed_everything(0)`. Are the two draws the same? Why not?
# 3. Run `get_device("cuda")` (or `get_device("mps")` if you have CUDA). What does the message say?
# 4. Look at `inspect.getsource(choose_threads)` and at the function it calls first,
#    `gan_course.device._threads_setting`: which settings does it read before it watches the CPU? Start a
#    second notebook that trains, then run `choose_threads()` here again.
# 5. `ModelConfig(latent_dim=0)`: what happens, and why is that better than failing later?
