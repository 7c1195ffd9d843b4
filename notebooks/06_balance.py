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
# - how to measure the balance between D and G: D(x), D(G(z)), the size of the gradient that reaches G,
#   and the digit meter;
# - what one D step and one G step do, with the training console;
# - what a stronger discriminator (more D steps per G step, a wider D) does to G's gradient, and why the
#   answer depends on the generator's loss: saturating or non-saturating;
# - whether the order of the two halves matters (D first or G first), and what k G steps per D step do;
# - what a discriminator that is too sure looks like, and one that is too weak;
# - mode collapse on cue, and the change that brings the missing digits back;
# - how to compare runs fairly: same seed, same budget, one setting changed.
#
# **Prerequisites:** notebook 05: the training loop, `train`, the D(x)/D(G(z)) curves and the digit meter;
# notebook 04: the saturating and non-saturating generator losses.
#
# **Where we are:** notebook 6 of 7. Notebook 05 trained a healthy GAN. Here we change one thing
# at a time and measure what happens. Where a run disagrees with what lectures usually say, we show the
# run and say so.

# %% [markdown]
# ## The game has to stay close
#
# G learns only through D: its gradient says "change this pixel so D finds the image more real". The usual
# story:
# - if D wins outright, it rejects every fake with certainty and G's gradient vanishes: no signal;
# - if D cannot tell real from fake at all, anything G draws passes, and G stops improving;
# - if G moves much faster than D, it jumps to whatever D currently accepts: often one kind of digit.
#   That is *mode collapse*.
#
# Each claim below gets a real run on the course's digits, and a number.

# %% [markdown]
# ## Setup
#
# One seed, the device (in a GPU Codespace this says `cuda`), the course's 10,000 training digits and the
# digit meter from notebook 05.

# %% tags=["nbval-ignore-output"]
# %matplotlib inline
import inspect

import torch

from gan_course.batches import training_images
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
# Every run below starts from the same seed, so the same starting weights, batches and noise, and trains
# for the same number of steps. Steps, not seconds: a slow machine then runs exactly the same experiment
# as a fast one. A run of the course's settings takes about 15 to 20 s on one CPU thread; runs with extra D or G
# steps take longer.

# %%
SEED = 0
STEPS = 3000
print(f"every run: seed {SEED}, {STEPS:,} steps")

# %% [markdown]
# The helpers live in `gan_course.experiments`. `variant` copies a config and changes the settings you
# name; `run_config` trains a config for `STEPS` steps from `SEED` and scores 500 samples
# with the digit meter:

# %%
from gan_course import experiments

print(inspect.getsource(experiments.run_config))

# %% [markdown]
# The starting point is the lectures' game of notebook 05, read from the library: the course default
# without its piles, `course_default(piles=False)`, with ten islands in its noise instead. Its D judges an
# image alone, as in the lectures' loop and the training console. Its batch doubles only after 3,000
# steps, so every step of these runs uses 32 digits:

# %%
from gan_course.experiments import compare_curves, compare_runs, run_config, summary_table, variant
from gan_course.settings import course_default

default = course_default(piles=False)
print(f"lr_g {default.lr_g:g}, lr_d {default.lr_d:g}, k {default.k}, d_steps {default.d_steps}, "
      f"batch size {default.batch_size}, G {default.model.g_hidden}, D {default.model.d_hidden}, loss {default.g_loss}")

# %% [markdown]
# ## 1. Balanced: the course's settings
#
# Both networks learn at the same rate, one D step per G step, D first. (Each run shows a progress bar;
# the library's health warnings, when there are any, appear under it.)

# %%
balanced = run_config("balanced", default, images, STEPS, meter, seed=SEED, device=device)

# %% [markdown]
# Each run has a one-line summary: D's average outputs over the last 200 steps and the meter's figures.

# %% tags=["nbval-ignore-output"]
print(balanced.summary())

# %% [markdown]
# `compare_runs` draws one row per run: what D believes (faint: every step; bold: the running mean), the
# samples from the fixed noise at the end, and the meter's confident samples per digit. Healthy looks
# like this: D(x) a little above 0.5, D(G(z)) a little below, both level; digits of (nearly) every kind
# (the meter counts a digit as present when at least 2% of all the samples it scores, 10 of 500, are
# confidently that digit).

# %%
fig = compare_runs([balanced], title="Balanced: the course's settings")

# %% [markdown]
# ## One move at a time
#
# The training console of notebook 05 can pause a run and make single moves. `probe()` measures what D
# believes now, changing nothing: D(x) on 64 real digits and D(G(z)) on the fixed noise. D's **lead** is
# the difference, D(x) − D(G(z)): how well D tells the two apart. Train 300 steps and pause:

# %%
from gan_course.console import TrainingConsole

console = TrainingConsole(images, meter=meter, device=device, seed=SEED)
console.run(steps=300, wait=True)


def lead(verdict: dict) -> float:
    return verdict["d_x"] - verdict["d_g_z1"]


verdicts = [console.probe()]
print(f"{console.state} at step {console.step}")

# %% [markdown]
# Five discriminator steps and nothing else: they should widen D's lead.

# %%
for _ in range(5):
    console.step_d()
    verdicts.append(console.probe())
leads = [lead(verdict) for verdict in verdicts]
print("step", console.step, "- D's lead grew over the five D steps:", leads[-1] > leads[0])

# %% [markdown]
# D(x), D(G(z)) and the lead after each step, from the paused run to the fifth D step:

# %% tags=["nbval-ignore-output"]
for name, values in (("D(x)", [v["d_x"] for v in verdicts]), ("D(G(z))", [v["d_g_z1"] for v in verdicts]),
                     ("lead", leads)):
    print(f"{name:>8}: " + " -> ".join(f"{value:.2f}" for value in values))

# %% [markdown]
# One generator step: G moves its fakes towards what the updated D accepts, so D's lead shrinks.

# %%
console.step_g()
after_g = console.probe()
print("step", console.step, "- D's lead shrank after one G step:", lead(after_g) < leads[-1])

# %% tags=["nbval-ignore-output"]
print(f"D(G(z)) {verdicts[-1]['d_g_z1']:.2f} -> {after_g['d_g_z1']:.2f}, lead {leads[-1]:.2f} -> {lead(after_g):.2f}")

# %% [markdown]
# Look at the rows above: single steps jump about (Adam moves each of D's weights by up to about its
# learning rate, 0.002, at every step, however small the gradient; and each step sees a fresh batch), and
# D(G(z)) alone does not fall at every D
# step: D's loss has two terms, and a step that lifts D(x) can lift D(G(z)) with it. Over five steps the
# gap between them, D's lead, is what grows.
# That is the whole game in a few cells: D's move widens the gap, G's move narrows it. Balance means
# neither move wins by much for long. The rest of this notebook measures what happens, over thousands
# of moves, when one player is made stronger.

# %% [markdown]
# ## 2. How much signal reaches G?
#
# Every G step computes the gradient of G's loss with respect to all of G's weights; `generator_step`
# records its size, the norm ‖∇G‖ (`history.grad_g`, notebook 05). "No signal" would be a norm near zero.
# For the balanced run, on a log scale (the bold line is the running mean over 50 steps):

# %%
fig = compare_curves([balanced], "grad_g", title="The gradient that reaches G", ylabel="‖∇G‖", log=True)

# %% [markdown]
# In numbers, the typical size (the median) over the first 100 steps and over the last 200:

# %% tags=["nbval-ignore-output"]
start, end = balanced.gradient_norms()
print(f"balanced: ‖∇G‖ {start:.2f} in the first 100 steps, {end:.2f} in the last 200")

# %% [markdown]
# ## 3. A stronger discriminator, by its own means
#
# We make D stronger without touching G: **three D steps per G step** (`d_steps=3`, each on the same real
# batch with fresh fakes) and a **4× wider, two-layer D** (`d_hidden=(1024, 512)`: about 1.3 million
# weights against G's 0.55 million). G keeps its learning rate and its size.

# %%
strong_d = run_config("strong D", variant(default, d_steps=3, d_hidden=(1024, 512)), images, STEPS, meter,
                      seed=SEED, device=device)

# %% tags=["nbval-ignore-output"]
print(strong_d.summary())

# %% [markdown]
# D is clearly stronger: D(x) higher, D(G(z)) lower than in the balanced run. Now the gradient that
# reaches G, for both runs (typical values: medians over the first 100 and the last 200 steps):

# %%
fig = compare_curves([balanced, strong_d], "grad_g", title="The gradient that reaches G", ylabel="‖∇G‖", log=True)

# %% tags=["nbval-ignore-output"]
for run in (balanced, strong_d):
    (d_x, d_g_z), (start, end) = run.d_outputs(), run.gradient_norms()
    print(f"{run.name:>9}: D(x) {d_x:.2f}, D(G(z)) {d_g_z:.2f}, ‖∇G‖ first 100 steps {start:.2f}, last 200 {end:.2f}")

# %% [markdown]
# **This run disagrees with the usual story.** The stronger D gives G a *larger* gradient, not a smaller
# one, and G keeps learning. The reason is the course's generator loss. With the non-saturating loss
# −log D(G(z)) (notebook 04), the gradient with respect to D's logit is D(G(z)) − 1: the more confidently D
# rejects a fake, the *stronger* the push on G. The textbook's "no gradient" belongs to the original,
# saturating loss log(1 − D(G(z))), whose gradient is −D(G(z)) and dies when D(G(z)) goes to 0. The
# samples and the meter:

# %%
fig = compare_runs([balanced, strong_d], title="Balanced against a stronger discriminator")

# %% [markdown]
# ## 4. Saturating against non-saturating
#
# So we test the textbook's claim where it applies: the same two discriminators with the saturating loss
# (`g_loss="saturating"`, the minimax loss of the original GAN paper). Each saturating run costs as much
# per step as its non-saturating twin, so the same steps are also about the same seconds.

# %%
saturating = run_config("saturating", variant(default, g_loss="saturating"), images, STEPS, meter,
                        seed=SEED, device=device)
strong_d_saturating = run_config("strong D, saturating", variant(default, d_steps=3, d_hidden=(1024, 512),
                                                                 g_loss="saturating"),
                                 images, STEPS, meter, seed=SEED, device=device)

# %% [markdown]
# The gradient that reaches G in all four runs:

# %%
four = [balanced, saturating, strong_d, strong_d_saturating]
fig = compare_curves(four, "grad_g", title="The gradient that reaches G: two losses, two discriminators",
                     ylabel="‖∇G‖", log=True)

# %% tags=["nbval-ignore-output"]
print(summary_table(four, base=default))

# %% [markdown]
# Read the table row by row (‖∇G‖ *start* is the median over the first 100 steps, *end* over the last 200):
# - at the start, when D rejects G's noise easily, the saturating loss gives G about half the gradient of
#   the non-saturating one or less (the *start* column: 0.50 against 1.24 with the balanced D, 0.70
#   against 1.38 with the strong one), as notebook 04's curve predicts. Against the
#   balanced D that did not matter much in the end: both runs draw digits of (nearly) every kind;
# - against the strong D the difference is large: with the saturating loss G typically gets a small
#   fraction of the gradient the non-saturating loss gives it against the same D (the red curve against
#   the green one), D is surer of itself, and G ends up drawing fewer kinds of digit (*classes*), fewer of
#   them confident, with a far larger FD;
# - the non-saturating loss, the course's, keeps G's gradient up against either discriminator.
#
# So the lectures are right about the saturating loss: against a strong D it starves G. The fix they
# teach, scoring the fakes against the *real* label, is exactly what makes a strong D harmless here.
# (How badly it starves G varies from run to run: another seed draws other noise, another thread count
# adds up the numbers in another order. This run ended at a gradient of 0.08 and 8 kinds of digit, with
# 64% of its samples confident, against 79% with the non-saturating loss.) The samples side by side:

# %%
fig = compare_runs([saturating, strong_d_saturating], title="The saturating loss: balanced D and strong D")

# %% [markdown]
# ## 5. Which half first: D or G?
#
# The lecture's loop updates D first, then G through the updated D. `g_first=True` swaps the two halves:
# G steps against the D of the previous round, then D steps. Same seed, same steps:

# %%
g_first = run_config("G first", variant(default, g_first=True), images, STEPS, meter, seed=SEED, device=device)
fig = compare_runs([balanced, g_first], title="D first (the lecture's order) against G first")

# %% tags=["nbval-ignore-output"]
print(summary_table([balanced, g_first], base=default))

# %% [markdown]
# With one D step and one G step per round, the two orders are the same alternation shifted by half a
# step, so a large difference would be surprising. Compare the two rows: D's outputs and G's gradient are
# almost the same. Here G first has fewer confident samples (71% against 77%) but a slightly lower FD (321
# against 335): one better, one worse. One seed is not enough to call a winner (try exercise 2). Our
# honest conclusion: at this budget the order does not decide the outcome. The lecture's order is a
# convention worth keeping, because it lets G reuse D's fakes, not the key to a good run.

# %% [markdown]
# ## 6. k generator steps per discriminator step
#
# A common tip when D is ahead: give G more turns. `k` G steps per D step, for k = 1, 2, 3 (k = 1 is the
# balanced run). More G steps make each round slower.

# %%
k2 = run_config("k = 2", variant(default, k=2), images, STEPS, meter, seed=SEED, device=device)
k3 = run_config("k = 3", variant(default, k=3), images, STEPS, meter, seed=SEED, device=device)
balanced_k1 = experiments.Run("k = 1", balanced.result, balanced.quality)  # the balanced run, named for this plot
fig = compare_curves([balanced_k1, k2, k3], "d_g_z1", title="D(G(z)) before D's step, for k = 1, 2, 3",
                     ylabel="probability 'real'")

# %% tags=["nbval-ignore-output"]
print(summary_table([balanced_k1, k2, k3], base=default))

# %% [markdown]
# More G steps push D(G(z)) a little closer to 0.5: G fools this D slightly more often. But the digits
# do not get better: the table's *confident* falls with k, *FD* rises, and G's gradient shrinks, 3 to 7
# times at the start (1.24 with k = 1, 0.39 with 2, 0.18 with 3) and about half by the end (0.31, 0.15,
# 0.16). In the course's settings D is already the smaller network (about 0.2 million
# weights against G's 0.55 million, counted in notebook 03); extra G steps tip a balanced game towards G.
# The tip is for a D that is ahead, which the course's is not.

# %%
fig = compare_runs([k2, k3], title="k = 2 and k = 3 generator steps per discriminator step")

# %% [markdown]
# ## 7. A discriminator that is too sure
#
# How sure should D be? In every run so far that drew digits, D(x) stayed between about 0.5 and 0.96. A D
# that is *too* sure says D(x) ≈ 1 and D(G(z)) ≈ 0 for hundreds of steps: it wins every round. The cleanest
# way we found to get there is a generator that breaks down: G's learning rate ten times the course's.
# (Does the library's warning about it appear under the progress bar? See below.)

# %% tags=["nbval-ignore-output"]
too_sure = run_config("too sure", variant(default, lr_g=default.lr_g * 10), images, STEPS, meter,
                      seed=SEED, device=device)

# %% tags=["nbval-ignore-output"]
runs_so_far = [balanced, strong_d, saturating, strong_d_saturating, g_first, k2, k3, too_sure]
for run in sorted(runs_so_far, key=lambda run: run.d_outputs()[0]):
    d_x, d_g_z = run.d_outputs()
    print(f"{run.name:>22}: D(x) {d_x:.2f}, D(G(z)) {d_g_z:.2f} -> confident {run.quality.confident:.0%}, "
          f"classes {run.quality.classes}/10")

# %% [markdown]
# Sorted by D(x): the runs with D(x) up to about 0.84 drew digits of (nearly) every kind; the strong D with
# the saturating loss, surer still, drew fewer kinds and fewer confident digits; and the run whose D was
# sure of everything (D(x) 0.97, D(G(z)) 0.03 over the last 200 steps) drew hardly a digit: 21% confident,
# 2 kinds. The library warns when D(G(z)) stays below 0.05 for 200 steps in a row (*the discriminator
# rejects every fake*); here it rose above that now and then, so the warning did not fire. Note *why*
# that D was so sure: not because it was strong, but because G fell apart (its learning rate ten times
# too high). A sure D is a symptom to look behind, not the illness itself.

# %%
fig = compare_runs([strong_d, too_sure], title="A strong but healthy D against a D that is too sure")

# %% [markdown]
# ## 8. A discriminator that is too weak
#
# Now the other way round, again by D's own means: a D with a hidden layer of only 4 units instead of 256.

# %%
weak_d = run_config("weak D", variant(default, d_hidden=(4,)), images, STEPS, meter, seed=SEED, device=device)

# %% tags=["nbval-ignore-output"]
print(weak_d.summary())

# %%
fig = compare_runs([balanced, weak_d], title="Balanced against a discriminator that is too weak")

# %% [markdown]
# D(x) and D(G(z)) both sit at 0.50: this D cannot tell real from fake, and the library warns. That sounds
# like G won, but the samples are blobs. The meter even reads about a sixth of them as an 8 (classes
# 1/10): a classifier can be fooled by a round blob. Its FD, more than seven times the balanced run's, is
# the figure that tells the truth here. A judge who cannot judge teaches nothing.

# %% [markdown]
# ## 9. Mode collapse on cue
#
# Mode collapse is G drawing only one or a few kinds of digit. With this seed, a generator that learns
# five times faster than D (`lr_g × 5`) provokes it within the budget: each G step overshoots towards
# whatever D currently accepts, and D, slower, cannot push it back to variety in time.

# %%
collapse = run_config("fast G", variant(default, lr_g=default.lr_g * 5), images, STEPS, meter,
                      seed=SEED, device=device)

# %% tags=["nbval-ignore-output"]
print(collapse.summary())

# %% [markdown]
# The meter's confident samples per digit, 0 to 9, for the fast G and for the change that brings the
# classes back: G's learning rate back to D's, which is the balanced run.

# %% tags=["nbval-ignore-output"]
print("fast G:  ", collapse.quality.counts)
print("balanced:", balanced.quality.counts)

# %%
fig = compare_runs([collapse, balanced], title="Mode collapse (G's learning rate × 5) and the fix (back to D's)")

# %% [markdown]
# Look at the bars: most of the fast G's confident samples are 1s (199 of 263), and the *classes* figure
# drops from 9 to 4. In the grid, many samples are variations of the same stroke. Nothing in the loss curves says "only a
# few kinds of digit": the meter's class histogram is what catches it.

# %% [markdown]
# ## All the runs side by side
#
# The same seed and the same budget, one setting changed per row (the last column says which):

# %% tags=["nbval-ignore-output"]
runs = [balanced, strong_d, saturating, strong_d_saturating, g_first, k2, k3, too_sure, weak_d, collapse]
print(summary_table(runs, base=default))

# %% [markdown]
# The conclusions this notebook draws, checked on the runs above:

# %%
def warned(run, words: str) -> bool:
    return any(words in message for message in run.result.history.warnings)


print("every run trained", STEPS, "steps:", all(len(run.result.history.step) == STEPS for run in runs))
print("strong D: D(x) up, D(G(z)) down:", strong_d.d_outputs()[0] > balanced.d_outputs()[0] > balanced.d_outputs()[1] > strong_d.d_outputs()[1])
print("strong D, non-saturating: more gradient for G:", strong_d.gradient_norms()[1] > balanced.gradient_norms()[1])
print("saturating: less gradient for G at the start:", saturating.gradient_norms()[0] < balanced.gradient_norms()[0])
print("strong D: the saturating loss gives G less gradient:", strong_d_saturating.gradient_norms()[1] < strong_d.gradient_norms()[1])

# %% [markdown]
# And what the meter and the warnings say:

# %%
print("strong D: the saturating loss draws fewer kinds of digit:", strong_d_saturating.quality.classes < strong_d.quality.classes)
print("weak D: the 'cannot tell real from fake' warning:", warned(weak_d, "cannot tell real from fake"))
print("k = 3 draws fewer confident digits than k = 1:", k3.quality.confident < balanced.quality.confident)
print("too sure: D(x) above 0.9 and D(G(z)) below 0.1:", too_sure.d_outputs()[0] > 0.9 > 0.1 > too_sure.d_outputs()[1])
print("fast G covers fewer digits than balanced:", collapse.quality.classes < balanced.quality.classes)

# %% [markdown]
# ## What to look at, what to change
#
# | symptom | diagnosis | change |
# | --- | --- | --- |
# | D(x) ≈ 1, D(G(z)) ≈ 0 for hundreds of steps; samples stay noise | D wins every round (often: G broke down) | lower `lr_g`; check the data; lower `lr_d` |
# | ‖∇G‖ small while D is sure of itself; few kinds of digit | saturating loss against a strong D | use the non-saturating loss (BCE with the real label) |
# | D(x) ≈ D(G(z)) ≈ 0.5 *and* samples are not digits | D too weak | bigger D, higher `lr_d`, `k` = 1 |
# | samples of only a few kinds; meter's *classes* low | mode collapse | `lr_g` back to `lr_d`, lower both |
# | D(x) 0.5 to 0.9, D(G(z)) below 0.5, level; classes (nearly) 10/10 | working | train longer |

# %% [markdown]
# ## Recap
#
# - Measure balance with D(x), D(G(z)), the norm of the gradient reaching G, and the digit meter, on runs
#   that differ in one setting only (same seed, same steps: `variant` and `run_config`).
# - A stronger D (more D steps, a wider D) did not starve G here: with the non-saturating loss G's gradient
#   grew. The "vanishing gradient" of the textbook is the saturating loss's: against the same strong D it
#   left G a fraction of the gradient, and G drew fewer kinds of digit.
# - D first or G first made no clear difference; extra G steps made the default worse.
# - A D that is sure of everything is a symptom (here of a broken G); a D that is too weak teaches nothing.
# - Mode collapse shows in the meter's class histogram, not in the losses; bringing G's learning rate back
#   to D's brings the classes back.
#
# ## Try this
#
# 1. Run the strong D with `d_steps=5`. Does G's gradient grow further? Do the samples improve?
# 2. Repeat section 5 (D first or G first) with `seed=1` and `seed=2`. Does the winner change?
# 3. Try `k=3` together with the strong D of section 3. Does giving G more turns help *there*?
# 4. Run the mode-collapse setting with `seed=1` and `seed=2`. Which digits does G collapse to?
# 5. Find the smallest `d_hidden` at which the meter still reads most samples as digits.
