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
# # 06 · Balance: keeping the two players evenly matched
#
# **What you will learn**
# - why the discriminator D and the generator G must stay at similar strength;
# - what a discriminator that is too strong looks like: D(G(z)) pinned near 0, G stuck, the library's
#   health warning;
# - what a generator that is too strong (a discriminator that is too weak) looks like: D(x) and D(G(z))
#   both stuck at 0.5, blobs instead of digits;
# - what mode collapse looks like, and how the digit meter's *classes* figure catches it;
# - how to compare runs fairly: same seed, same budget, one setting changed.
#
# **Prerequisites:** notebook 05: a training step, `train`, the D(x)/D(G(z)) curves and the digit meter.
#
# **Where we are:** notebook 6 of 6, the last. Notebook 05 trained a healthy GAN. Here we break it on
# purpose, four short runs, and learn to recognise each failure by its curves, its samples and the meter.

# %% [markdown]
# ## The game has to stay close
#
# G learns only through D: its gradient says "change this pixel so D finds the image more real". That
# signal is useful only while D is a fair judge, a little better than G but not much:
# - if D wins outright, it rejects every fake with certainty and G's signal says nothing useful about
#   what real digits look like;
# - if D cannot tell real from fake at all, anything G draws passes, and G stops improving;
# - if G moves much faster than D, it jumps to whatever D currently accepts: often one kind of digit,
#   then another. That is *mode collapse*.
#
# We will provoke each one with real training runs on the course's digits.

# %% [markdown]
# ## Setup
#
# One seed, the device (in a GPU Codespace this says `cuda`; the tests do not compare it), the course's
# 10,000 training digits and the digit meter from notebook 05.

# %%
# NBVAL_IGNORE_OUTPUT
# %matplotlib inline
import inspect

import torch

from gan_course.data import training_images
from gan_course.device import get_device
from gan_course.quality import load_meter
from gan_course.seeding import seed_everything

rng = seed_everything(0)
device = get_device("auto")
images = training_images()
meter = load_meter()
print("device:", device, " digits:", tuple(images.shape))

# %% [markdown]
# ## A fair comparison: same seed, same budget, one change
#
# Every run below starts from the same seed, so the same starting weights, batches and noise, and
# trains for the same number of steps. Steps, not seconds: a slow machine then runs exactly the same
# experiment as a fast one. Each run takes about 10–20 s on 2 CPU cores.

# %%
SEED = 0
STEPS = 3000
print(f"every run: seed {SEED}, {STEPS:,} steps")

# %% [markdown]
# The helpers live in `gan_course.experiments`. `variant` copies the course default and changes the
# settings you name, `run_config` trains a config for `STEPS` steps from `SEED` and scores 500 samples
# with the digit meter:

# %%
from gan_course import experiments

print(inspect.getsource(experiments.run_config))

# %% [markdown]
# The starting point is the course default of notebooks 01 and 05, read from the library:

# %%
from gan_course.experiments import compare_runs, run_config, summary_table, variant
from gan_course.training import course_default

default = course_default()
print(f"lr_g {default.lr_g:g}, lr_d {default.lr_d:g}, k {default.k}, batch size {default.batch_size}, "
      f"G {default.model.g_hidden}, D {default.model.d_hidden}")

# %% [markdown]
# ## 1. Balanced: the course default
#
# Both networks learn at the same rate. (Each run shows a progress bar; the library's health warnings,
# when there are any, appear under it.)

# %%
balanced = run_config("balanced", default, images, STEPS, meter, seed=SEED, device=device)

# %% [markdown]
# Each run has a one-line summary: D's average outputs over the last 200 steps and the meter's figures.
# (Floats differ between machines in their last digits, and over thousands of steps that is enough to
# change a GAN's path a little, so the tests do not compare these lines; they check the conclusions at
# the end.)

# %%
# NBVAL_IGNORE_OUTPUT
print(balanced.summary())

# %% [markdown]
# `compare_runs` draws one row per run: what D believes (faint: every step; bold: the running mean), the
# samples from the fixed noise at the end, and the meter's confident samples per digit.
#
# What healthy looks like: D(x) a little above 0.5, D(G(z)) a little below, both level; digits of every
# kind; a bar for every digit.

# %%
fig = compare_runs([balanced], title="Balanced: the course default")

# %% [markdown]
# ## 2. A discriminator that is too strong
#
# We make D learn far faster than G: G's learning rate is cut by a factor of 1,000, D's stays. (Adam's
# step size is set by the learning rate, so this is D taking steps 1,000 times longer than G's.)

# %%
strong_d = run_config("strong D", variant(default, lr_g=default.lr_g / 1000), images, STEPS, meter,
                      seed=SEED, device=device)

# %%
# NBVAL_IGNORE_OUTPUT
print(strong_d.summary())

# %% [markdown]
# D(x) goes to 1 and D(G(z)) to 0 almost at once, and they stay there: D is certain about every image. The samples are still noise and the meter finds no digits. The library noticed and warned
# (`train` checks the last 200 steps at every snapshot): *D(G(z)) has stayed below 0.05*.

# %%
fig = compare_runs([strong_d], title="Discriminator too strong: G's learning rate / 1000")

# %% [markdown]
# **What to change:** slow D down or speed G up: lower `lr_d` or raise `lr_g` until they are similar,
# make D smaller, or give G more turns (`k` > 1 generator steps per D step).
#
# An honest note: a *bigger* D alone did not do this within our budget. We tried a 4× wider, two-layer
# D (`d_hidden=(1024, 512)`) with G's learning rate cut by 10 and by 100: D(G(z)) fell to about 0.3
# and 0.1 on average, G learned more slowly, but it kept learning and the warning never fired. The
# non-saturating loss of notebook 04 keeps G's gradient alive even against a confident D; to stall G
# completely, D has to win by a wide margin.

# %% [markdown]
# ## 3. A generator that is too strong (a discriminator that is too weak)
#
# Now the other way round: D's learning rate is cut by a factor of 100, G's stays. G can now beat D
# easily.

# %%
weak_d = run_config("weak D", variant(default, lr_d=default.lr_d / 100), images, STEPS, meter,
                    seed=SEED, device=device)

# %%
# NBVAL_IGNORE_OUTPUT
print(weak_d.summary())

# %% [markdown]
# D(x) and D(G(z)) move together and end at 0.5: D cannot tell real from fake, and the library warns:
# *D(x) and D(G(z)) have both stayed near 0.5*. That sounds like G won, but look at the samples: blobs,
# not digits. A judge who cannot judge teaches nothing, so G stops improving as soon as it fools this
# weak D.
#
# The meter agrees: *confident* is 0%. A classifier trained only on digits has to call every image some
# digit, and it calls many of these blobs an 8 with p ≥ 0.9; the meter counts a sample as confident only
# if its features also lie as close to real digits of that class as 99% of real digits do, which blobs do
# not. The FD says the same from all the samples at once: it is many times the balanced run's.

# %%
fig = compare_runs([weak_d], title="Generator too strong: D's learning rate / 100")

# %% [markdown]
# **What to change:** strengthen D: raise `lr_d` back towards `lr_g`, make D bigger (`d_hidden`), or go
# back to `k = 1`. D(x) and D(G(z)) at 0.5 are healthy only when the samples *do* look like digits.

# %% [markdown]
# ## 4. Mode collapse
#
# Mode collapse is G drawing only one or a few kinds of digit. The way we found to provoke it in a short
# run: let G learn five times faster than D. Each G step then overshoots towards whatever D currently
# accepts, and D, slower, cannot push it back to variety in time.

# %%
collapse = run_config("fast G", variant(default, lr_g=default.lr_g * 5), images, STEPS, meter,
                      seed=SEED, device=device)

# %%
# NBVAL_IGNORE_OUTPUT
print(collapse.summary())

# %% [markdown]
# Look at the bars: the meter's confident samples pile up on a few digits (which ones depends on the
# run: mostly 1 and 3 in ours), and the *classes* figure drops from 10 to about 4. In the grid, many
# samples are variations of the same rough shape. D(G(z)) sits low: D keeps catching G's latest
# favourite, so G moves on to the next one.
#
# An honest note: this is the nearest effect we could provoke reliably in 3,000 steps on a CPU. Textbook
# mode collapse, crisp digits of a single kind, usually shows up after much longer training; here the
# fast G also draws rough, dotty strokes. Ten times faster (`lr_g * 10`) collapsed onto a single digit
# with some seeds, but with others G broke down altogether and the strong-D warning fired instead.

# %%
fig = compare_runs([collapse], title="Mode collapse: G's learning rate x 5")

# %% [markdown]
# In numbers: the meter's confident samples per digit, 0 to 9, for the balanced run and this one.

# %%
# NBVAL_IGNORE_OUTPUT
print("balanced:", balanced.quality.counts)
print("fast G:  ", collapse.quality.counts)

# %% [markdown]
# **What to change:** bring G's learning rate back to D's; a smaller learning rate for both also helps.
# Research GANs add more: minibatch discrimination (D sees a whole batch, so it notices when all fakes
# look alike), or other losses (e.g. Wasserstein). Without the meter, collapse is easy to miss in the
# curves: nothing in them says "only three kinds of digit".

# %% [markdown]
# ## All four side by side
#
# The same seed and the same budget, one setting changed per row:

# %%
runs = [balanced, strong_d, weak_d, collapse]
fig = compare_runs(runs)

# %% [markdown]
# And as a table: the learning rates, D's average outputs over the last 200 steps, the meter's figures
# and the number of health warnings.

# %%
# NBVAL_IGNORE_OUTPUT
print(summary_table(runs))

# %% [markdown]
# The exact figures vary a little between machines, but the conclusions do not. The tests check these:

# %%
def warned(run, words: str) -> bool:
    return any(words in message for message in run.result.history.warnings)


print("every run trained", STEPS, "steps:", all(len(run.result.history.step) == STEPS for run in runs))
print("balanced run without warnings:", balanced.result.history.warnings == [])
print("strong D: 'rejects every fake' warning:", warned(strong_d, "the discriminator rejects every fake"))
print("weak D: 'cannot tell real from fake' warning:", warned(weak_d, "cannot tell real from fake"))
print("fast G covers fewer digits than balanced:", collapse.quality.classes < balanced.quality.classes)

# %% [markdown]
# ## What to look at, what to change
#
# | symptom | diagnosis | change |
# | --- | --- | --- |
# | D(x) ≈ 1, D(G(z)) ≈ 0 for hundreds of steps; samples stay noise | D too strong | lower `lr_d` / raise `lr_g`, smaller D, `k` > 1 |
# | D(x) ≈ D(G(z)) ≈ 0.5 *and* samples are not digits | D too weak, G too strong | raise `lr_d`, bigger D, `k` = 1 |
# | samples of only a few kinds; meter's *classes* low | mode collapse | lower `lr_g` to match `lr_d`, lower both |
# | D(x) a little above 0.5, D(G(z)) a little below; classes 10/10 | balanced | train longer |

# %% [markdown]
# ## Recap
#
# - G learns only from D's judgement, so D must stay a fair judge: a little ahead of G, never far.
# - Compare runs fairly: the same seed and the same budget in steps, one setting changed
#   (`variant` and `run_config`).
# - D too strong: D(G(z)) pinned near 0, no digits, the library warns. D too weak: D(x) and D(G(z)) at
#   0.5 but no digits, the library warns. G too fast: mode collapse, which the meter's *classes* figure
#   catches where the loss curves do not.
# - The fixes move the learning rates (or sizes, or `k`) back towards balance.
#
# ## Try this
#
# 1. Find the edge of failure: run `variant(default, lr_g=default.lr_g / 100)` and `/ 300`. At which
#    factor does the strong-D warning fire?
# 2. Repair the strong D with `k`: `variant(default, lr_g=default.lr_g / 10, k=3)`. Does it help? (It is
#    slower per step: G takes three steps.)
# 3. Run the mode-collapse setting with `seed=1` and `seed=2`. Which digits does G collapse to? Then try
#    `lr_g=default.lr_g * 10`.
# 4. Make D bigger instead of faster: `variant(default, d_hidden=(1024, 512))`. Compare D(G(z)) with the
#    balanced run.
# 5. Try the DCGAN: `variant(course_default("dcgan"), lr_g=course_default("dcgan").lr_g * 10)` with
#    fewer steps (it is slower on a CPU). Does it collapse too?
