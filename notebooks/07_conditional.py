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
# # 07 · Pick the digit: a conditional GAN, a walk through the latent space, and is it copying?
#
# **What you will learn**
# - how to tell both networks which digit an image is about: G(z, y) and D(x, y), a *conditional* GAN;
# - why a one-hot label concatenated to the input is already a learned embedding of the digit;
# - how to press a digit and get sixteen of it, and how the digit meter checks every digit separately;
# - how to walk from one noise vector to another, and why the spherical path suits Gaussian noise;
# - how to check whether the generator invents digits or copies its training digits;
# - how a GAN without labels can make its own: piles of similar digits, found by k-means;
# - the course default's other tricks, each against the run without it: a D told the pile twice (a
#   projection), the truncation trick, a penalty on D's slope, a longer average, smaller steps late.
#
# **Prerequisites:** notebook 05 (a training step, `train`, the dashboard, the digit meter), notebook 06
# (`run_config` and `compare_runs`, for the side-by-side runs) and notebook 03 (the MLP generator and
# discriminator).
#
# **Where we are:** notebook 7 of 7, the last. Notebook 05's generator draws *a* digit: which
# one is up to the noise z. Here we choose it.

# %% [markdown]
# ## Setup
#
# One seed at the top and the device (a GPU Codespace says `cuda` here).

# %% tags=["nbval-ignore-output"]
# %matplotlib inline
import inspect

import torch

from gan_course.device import get_device
from gan_course.seeding import seed_everything

rng = seed_everything(0)
device = get_device("auto")
print("this notebook trains on:", device)

# %% [markdown]
# ## Labelled digits, and some kept back
#
# A conditional GAN learns from *labelled* digits: each image comes with the digit it shows. We train on
# the first 9,000 of the course's 10,000 digits and keep the last 1,000 aside: at the end they tell us what
# "close to a training digit" means for a digit the GAN never saw.

# %%
from gan_course.batches import normalise
from gan_course.data import load_mnist

all_images, all_labels = load_mnist()
images, labels = normalise(all_images[:9000]), all_labels[:9000].long()
held_out = normalise(all_images[9000:10000])
print("training:", tuple(images.shape), tuple(labels.shape), " held out:", tuple(held_out.shape))
print("digits per class:", torch.bincount(labels).tolist())

# %% [markdown]
# ## Telling the networks the digit
#
# The label y goes in as a **one-hot** vector: ten numbers, all 0 but a 1 at the digit's place. G gets
# [z, one-hot(y)] instead of z; D gets [pixels, one-hot(y)] instead of the pixels.

# %%
from gan_course.conditional import one_hot

one_hot(torch.tensor([0, 3, 7]))

# %% [markdown]
# Why not a separate embedding layer (`nn.Embedding`), as big conditional GANs use? Because here it would
# change nothing. The first layer multiplies its input by a weight matrix W; the one-hot part of the input
# picks *one column* of W, the column of digit y, and adds it to what the layer makes of z. That column is
# a learned vector per digit: an embedding, as wide as the layer, for free, and one moving part fewer.
#
# The conditional generator is the MLP generator of notebook 03 with ten more inputs; the discriminator is
# its MLP discriminator with ten more inputs:

# %%
from gan_course.models import build_models
from gan_course.settings import course_default

config = course_default(conditional=True)
generator, discriminator = build_models(config.model, device)
print(type(generator).__name__, type(discriminator).__name__, " conditional:", config.model.conditional)

# %% [markdown]
# Shapes: G takes z (B, 64) and labels (B,) and gives images; D takes images and labels and gives one
# score per image.

# %%
z, y = torch.randn(5, 64, device=device), torch.tensor([0, 1, 2, 3, 4], device=device)
fake = generator(z, y)
print(tuple(fake.shape), tuple(discriminator(fake, y).shape))

# %% [markdown]
# The embedding claim, checked: the first layer's weights times one-hot(7) are exactly the column for 7.

# %%
first = generator.mlp.net[0]  # Linear(64 + 10 -> 256)
print(tuple(first.weight.shape))
print("W @ one_hot(7) == column 64 + 7:", torch.equal(first.weight[:, 64:] @ one_hot(torch.tensor([7], device=device))[0],
                                                       first.weight[:, 64 + 7]))

# %% [markdown]
# ## Training with labels
#
# The training step is notebook 05's, with the labels passed along: D scores real images *with their
# labels*, G is asked for the same digits, and D scores those fakes with the labels G was asked for. So D
# learns "is this a real 7?", and a G that draws a fine 3 when asked for a 7 is caught. The change is one
# argument, `labels`, which the small helper `_run` passes to G and to D beside their usual input:

# %%
from gan_course.steps import discriminator_step

print(inspect.getsource(discriminator_step))

# %% [markdown]
# A budget in steps, so that the run is the same on every machine. 15,000 steps took about 155 s on one
# CPU thread here, with the dashboard redrawing as it trains; without it the benchmark measures 6.0 ms a
# step for this GAN against 5.5 ms for notebook 05's unconditional one at batch 32 (`benchmarks/README.md`). The
# settings are notebook 05's (learning rate 2e-3) with plain noise, the label doing the job of the
# default's piles and islands here, and with batches of 32 throughout: the doubling after 3,000 steps
# was measured for the unconditional GAN only.

# %%
STEPS = 15_000
print(f"{STEPS:,} steps = {STEPS * config.batch_size / len(images):.0f} epochs of {len(images):,} digits;",
      f"batch {config.batch_size}, lr {config.lr_g:g}")

# %% [markdown]
# The digit meter from notebook 05 reads every sample:

# %% tags=["nbval-ignore-output"]
from gan_course.quality import load_meter

meter = load_meter()
print(f"digit meter accuracy on held-out real digits: {meter.accuracy:.1%}")

# %% [markdown]
# `train_conditional_and_show` trains with notebook 05's dashboard plus one more panel: for each digit,
# the share of samples the meter reads as *the digit asked for* (green at 90% or more). The fixed-noise
# grid asks for the digits 0-9 in turn, so each column of it is one digit. Stop it early with ■ if you
# like: you keep what it has learnt so far. (Times and figures differ between machines.)

# %% tags=["nbval-ignore-output"]
from gan_course.conditional_live import train_conditional_and_show

result = train_conditional_and_show(images, labels, STEPS, meter=meter, device=device)

# %% [markdown]
# The run took the planned number of steps:

# %%
history = result.history
print("steps:", len(history.step), " stopped early:", history.interrupted)

# %% [markdown]
# ## Press a digit
#
# Ten buttons: each press draws sixteen samples of that digit from fresh noise. (The buttons need a
# running notebook, and so does their picture: run the cell, and the first picture shows sevens.)

# %% tags=["nbval-ignore-output"]
from IPython.display import display

from gan_course.conditional_live import digit_buttons

buttons = digit_buttons(result.sampler, n=16, device=device)
display(buttons)
buttons.draw(7)

# %% [markdown]
# Asking for a "digit" that does not exist is refused, with a message that says what is wrong (this cell
# fails on purpose):

# %% tags=["raises-exception"]
from gan_course.sampling import generate

generate(result.sampler, z, torch.tensor([0, 1, 2, 3, 10], device=device))

# %% [markdown]
# ## A row per digit, a column per noise
#
# Eight noise vectors, one per column, and the ten digits, one per row. Down a column only the label
# changes: the *style* (slant, thickness, size) stays. So z holds the style and y the digit.

# %%
from gan_course.conditional import digit_rows
from gan_course.visualisation import show_digit_rows

z_rows, y_rows = digit_rows(8, config.model.latent_dim, torch.Generator().manual_seed(3), device)
fig = show_digit_rows(generate(result.sampler, z_rows, y_rows), "Rows: the digit asked for. Columns: one z each")

# %% [markdown]
# ## Does it draw the digit asked for?
#
# 1,000 samples, a hundred per digit, from seeded noise; the meter reads each one. Per digit, the share
# read as the digit asked for:

# %%
from gan_course.conditional import cycling_digits, digit_match
from gan_course.models import sample_noise
from gan_course.visualisation import plot_digit_match

z_check, asked = sample_noise(1000, 64, torch.Generator().manual_seed(1), device), cycling_digits(1000, device)
samples = generate(result.sampler, z_check, asked)
shares = digit_match(meter, samples, asked)
fig = plot_digit_match(shares, title=f"1,000 samples: {float(shares.mean()):.0%} drawn as the digit asked for")

# %% [markdown]
# The numbers behind the bars, and the meter's usual figures for the same samples:

# %% tags=["nbval-ignore-output"]
quality = meter.score(samples)
print("per digit:", " ".join(f"{d}:{float(s):.0%}" for d, s in enumerate(shares)))
print(f"overall {float(shares.mean()):.1%} drawn as asked; {quality.summary()}")

# %% [markdown]
# In this run 94% of the samples were read as the digit asked for (94.3%), 86% or more for every digit
# (the 5 lowest, at 86%, then the 2 at 90%), and the meter read 92% of them confidently. Told which digit
# to draw, G draws fewer in-between shapes that belong to no digit. The benchmark (`benchmarks/README.md`)
# measured its confident share over time: 85% after 30 s of training and 90% after 60 s, against 79% and
# 83% for notebook 05's GAN with the islands (70% and 74% with plain noise and batch 32 throughout), and
# behind the course default (93% and 92.5%, with the penalty on D that the end of this notebook adds), whose
# piles tell G *something* without labels.
# Notebook 05's generators could not even be asked for a digit. A safe margin that holds on any machine:

# %%
print("at least 85% drawn as asked:", float(shares.mean()) >= 0.85, " every digit present:", quality.classes == 10)

# %% [markdown]
# ## Walking the latent space
#
# Between two noise vectors z0 and z1 lie more noise vectors, and G draws a digit from each. The obvious
# path is the straight line, (1 - t) z0 + t z1 (*lerp*). But Gaussian noise in 64 dimensions lives on a
# thin shell: almost every z has a length close to √64 = 8, and G was trained on those only. Two such
# vectors are nearly at right angles, so the middle of the straight line is much shorter:

# %%
from gan_course.latent import lerp, slerp

pairs = torch.randn(2, 1000, 64, generator=torch.Generator().manual_seed(4))
middle = torch.tensor([0.5])
lerp_mid = torch.stack([lerp(a, b, middle)[0] for a, b in zip(*pairs)]).to(device)
slerp_mid = torch.stack([slerp(a, b, middle)[0] for a, b in zip(*pairs)]).to(device)
print(f"typical |z|: {pairs[0].norm(dim=1).mean():.1f} (√64 = 8); midpoint of lerp: {lerp_mid.norm(dim=1).mean():.1f}, "
      f"of slerp: {slerp_mid.norm(dim=1).mean():.1f}")

# %% [markdown]
# The straight midpoint is about 8/√2 ≈ 5.7 long: a place no training noise ever came from. The
# *spherical* path (*slerp*) turns from z0's direction to z1's along the arc, its length going evenly
# from |z0| to |z1|: it never cuts inside the shell.
#
# Does it matter to G? The meter reads the digits drawn at the 1,000 midpoints of each kind, and at the
# 1,000 start points for comparison:

# %% tags=["nbval-ignore-output"]
for name, points in (("start points", pairs[0].to(device)), ("lerp midpoints", lerp_mid), ("slerp midpoints", slerp_mid)):
    print(f"{name:>15}: {meter.score(generate(result.sampler, points, cycling_digits(1000, device))).summary()}")

# %% [markdown]
# Not what you might expect. The short straight-line midpoints are read a little *more* confidently (96%,
# against 91% at the start points and 90% at the spherical midpoints), but their Fréchet distance to real
# digits jumps to 63, against 44 at the start points and 44 at the spherical midpoints. Short z give G's
# most *typical* digits: clean, but alike, without the variety of real handwriting (big GANs shorten z
# on purpose for cleaner pictures: the "truncation trick"). The spherical path keeps the samples
# distributed like G's ordinary output; the straight one drifts towards an average style in the middle. Here are both paths for the digit 5 from
# the same two z (whose midpoint on the straight line is shorter by a fifth only, see below):

# %%
from gan_course.latent import interpolate
from gan_course.visualisation import show_grid

z0, z1 = sample_noise(2, 64, torch.Generator().manual_seed(11), device)
paths = torch.cat([interpolate(z0, z1, 10, "linear"), interpolate(z0, z1, 10, "spherical")])
fives = generate(result.sampler, paths, torch.full((20,), 5, device=device))
fig = show_grid(fives, "Digit 5 from z0 to z1. Top: straight line. Bottom: spherical", nrow=10, figsize=(10, 2.6))

# %% [markdown]
# The lengths along the two paths, in numbers:

# %%
print("|z| along lerp: ", " ".join(f"{v:.1f}" for v in interpolate(z0, z1, 10, "linear").norm(dim=1).tolist()))
print("|z| along slerp:", " ".join(f"{v:.1f}" for v in interpolate(z0, z1, 10, "spherical").norm(dim=1).tolist()))

# %% [markdown]
# A slider along a longer spherical walk, digit 5, 30 steps: the current step large, the strip below
# with a red box where you are. (It needs a running notebook.)

# %% tags=["nbval-ignore-output"]
from gan_course.conditional_live import latent_slider

walk = generate(result.sampler, interpolate(z0, z1, 30), torch.full((30,), 5, device=device))
slider = latent_slider(walk, "Digit 5, spherical path")
display(slider)
slider.show(0)

# %% [markdown]
# ### Same z, another digit; same digit, another z
#
# A conditional generator has two things to walk. Top row: one z, the label going 0, 1, ..., 9: the
# style stays, the digit changes. Bottom row: the label fixed at 3, z walking from z0 to z1 on the
# sphere: the digit stays, the style changes.

# %%
same_z = generate(result.sampler, z0.repeat(10, 1), torch.arange(10, device=device))
same_digit = generate(result.sampler, interpolate(z0, z1, 10), torch.full((10,), 3, device=device))
fig = show_grid(torch.cat([same_z, same_digit]), "Top: one z, digits 0-9. Bottom: digit 3, z from z0 to z1",
                nrow=10, figsize=(10, 2.6))

# %% [markdown]
# ## Is it copying?
#
# A generator that memorised its 9,000 training digits would score perfectly on the meter. To check, we
# find each generated digit's **nearest training digit**, once by pixels (Euclidean distance between the
# 784 values) and once in the meter's feature space (its 64 numbers per image: closeness in *shape*,
# less fooled by a shift of one pixel). A copy would be at distance 0.
#
# "Close" needs a yardstick: held-out real digits, which the GAN never saw, also have a
# nearest training digit. Their distances are what a *new* digit looks like.

# %%
from gan_course.copying import distance_ratio, meter_features, nearest_neighbours

fakes = samples[:500]
fake_px, fake_px_idx = nearest_neighbours(fakes, images)
real_px, real_px_idx = nearest_neighbours(held_out[:500], images)
train_features = meter_features(meter, images)
fake_ft, fake_ft_idx = nearest_neighbours(meter_features(meter, fakes), train_features)
real_ft, _ = nearest_neighbours(meter_features(meter, held_out[:500]), train_features)
print("500 generated and 500 held-out digits, each against the 9,000 training digits")

# %% [markdown]
# The generated digits next to their nearest training digits, by pixels, with the distance under each
# pair:

# %%
from gan_course.visualisation import show_nearest

fig = show_nearest(fakes[:10], images[fake_px_idx[:10]], fake_px[:10], "Generated (top), nearest training digit by pixels (bottom)")

# %% [markdown]
# The yardstick: held-out real digits and *their* nearest training digits:

# %%
fig = show_nearest(held_out[:10], images[real_px_idx[:10]], real_px[:10], "Held-out real (top), nearest training digit by pixels (bottom)",
                   labels=("held-out real", "nearest training digit"))

# %% [markdown]
# And in the meter's feature space, for the same generated digits:

# %%
fig = show_nearest(fakes[:10], images[fake_ft_idx[:10]], fake_ft[:10], "Generated (top), nearest training digit by the meter's features (bottom)")

# %% [markdown]
# The medians over all 500, and the smallest distance any generated digit has:

# %% tags=["nbval-ignore-output"]
for space, fake_d, real_d in (("pixels", fake_px, real_px), ("features", fake_ft, real_ft)):
    print(f"{space:>8}: generated median {fake_d.median():.2f} (min {fake_d.min():.2f}), "
          f"held-out real median {real_d.median():.2f} (min {real_d.min():.2f}); ratio {distance_ratio(fake_d, real_d):.2f}")

# %% [markdown]
# In this run the generated digits were as far from their nearest training digit as new real digits
# are: median 9.6 against 9.9 in pixels (ratio 0.97), 10.4 against 9.9 in features (ratio 1.05). The
# closest of the 500 was 2.7 away in pixels, no closer than the closest held-out real digit (2.4); a copy
# would be at 0. Side by side, the pairs are the same digit in a different hand, not the same image. So
# this generator invents digits in the style of the training set; it does not copy them. (With far fewer
# training digits, or far longer training, the ratio can fall: exercise 5.) The conclusion in a form that
# holds on any machine:

# %%
print("no generated digit is a copy (pixel distance > 1):", bool(fake_px.min() > 1))
print("generated digits at least half as far as new real digits:", distance_ratio(fake_px, real_px) > 0.5)

# %% [markdown]
# ## No labels? Sort the digits into piles
#
# The lectures' GAN of notebook 05 had no labels, and between two kinds of digit it drew half-way shapes; the
# conditional GAN above is told the digit and draws far fewer. A GAN can make its own labels. **k-means**
# sorts the digits into piles of similar-looking ones, without a single label: pick some digits far apart
# as the first centres, put every digit in the pile of its nearest centre, move each centre to the mean
# of its pile, and repeat until no digit changes pile. G and D are then told the *pile* instead of the
# digit, exactly as above (`ModelConfig(piles=50)`). This is the course default, `course_default()`, which
# notebook 05's live run trained. G picks its pile from
# the first number of its noise, each pile as often as the real digits fall into it, so it still draws
# with G(z) alone. (Liu and others, *Diverse image generation via self-conditioned GANs*, 2020, cluster
# D's features instead of the pixels.)

# %%
from gan_course.piles import find_piles, nearest_pile

centres = find_piles(images, 50)
piles = nearest_pile(images, centres)
sizes = torch.bincount(piles, minlength=50)
print(f"50 piles of {sizes.min()} to {sizes.max()} digits")
fig = show_grid(centres.view(50, 1, 28, 28), "The centre of each pile: the mean of its digits", nrow=10,
                figsize=(6, 3.4))

# %% [markdown]
# k-means never saw a label. The labels tell us how pure its piles are: the share of digits whose pile's
# most common digit is their own.

# %%
most = sum(int(torch.bincount(labels[piles == p], minlength=10).max()) for p in range(50))
print(f"digits in a pile whose most common digit is theirs: {most / len(images):.0%}")

# %% [markdown]
# The same seed and the same number of steps, once with notebook 05's islands (`course_default(piles=False)`)
# and once with 50 piles: `course_default()` without two things this part adds next, a second way of
# telling D the pile (`projection=False`) and a penalty on D (`r1=None`), so that the two runs differ in
# one thing only.
# `train` sorts the digits into piles before the first step and counts that time as training time.

# %%
from gan_course.experiments import compare_runs, run_config, variant

PILE_STEPS = 6000  # about 45 s each on one CPU thread
island_run = run_config("10 islands", course_default(piles=False), images, PILE_STEPS, meter, device=device)
pile_run = run_config("50 piles", variant(course_default(), projection=False, r1=None), images, PILE_STEPS, meter,
                      device=device)

# %% tags=["nbval-ignore-output"]
print(island_run.summary())
print(pile_run.summary())

# %%
fig = compare_runs([island_run, pile_run], title=f"10 islands and 50 piles, {PILE_STEPS:,} steps each")

# %% [markdown]
# Here, after 6,000 steps, the piles lift the confident share from 84% to 90% and lower the FD from 91 to
# 66 (500 samples each). The benchmark (`benchmarks/README.md`, one thread at full pace, the sorting counted
# as training time, 1,000 samples) read 93% confident after 30 s of training and 92.5% after 60 s with the
# piles told once, against 79% and 83% with the islands (real digits: 96%). Why it helps: the digits of one pile look alike, so G
# asked for a pile draws one kind of digit in many hands, and D, judging "a real digit *of this pile*?",
# rejects a half-way shape that fits no pile. Here is what G draws when asked for the first ten piles, one
# row each, fresh noise in every column (compare the first row of centres above):

# %%
pile_sampler = pile_run.result.sampler
z_piles = sample_noise(100, 64, torch.Generator().manual_seed(2), device)
fig = show_grid(generate(pile_sampler, z_piles, torch.arange(10, device=device).repeat_interleave(10)),
                "One row per pile (piles 0-9)", nrow=10, figsize=(6, 6))

# %%
print("piles: more confident digits:", pile_run.quality.confident > island_run.quality.confident,
      " lower FD:", pile_run.quality.fd < island_run.quality.fd)

# %% [markdown]
# Each row keeps to its centre's digit; the second and the eighth, 9s whose centres lean towards a 4, draw
# both.
#
# The piles have costs too. A step takes longer (8.2 ms against 7.6 for the islands on one thread in the
# benchmark; each network has 50 more inputs), and the sorting takes about a second of the budget, so after
# 15 s the piles are no further than the islands (65% against 66%). And D must be told a pile with every
# image, so the lectures' loop of notebook 05 keeps the islands, whose D judges an image alone; so does
# the training console, unless it is given `course_default()`.
#
# ### Told the pile twice: a projection at D's output
#
# How does this D hear the pile? As the conditional D hears the digit: a one-hot beside the pixels, which
# picks one column of D's first layer and adds it to what that layer makes of the pixels. After that layer
# all 50 piles share everything, down to the last: the score is w·h + b, one direction w in D's last
# hidden layer h, whatever the pile. A **projection discriminator** (Miyato and Koyama, *cGANs with
# projection discriminator*, 2018) tells D the pile a second time, at its output: each pile gets a
# direction e[pile] of its own, and the score becomes w·h + b + e[pile]·h. So which of D's features count
# can now depend on the pile: a closed loop can speak for a pile of 0s and against a pile of 7s. It is 50
# rows of 256 weights, started at 0 (D starts as the one without), and one dot product per image:

# %%
from gan_course.piles import PiledDiscriminator

print(inspect.getsource(PiledDiscriminator.forward))

# %% [markdown]
# The course default has it (`projection=True` in its `ModelConfig`). The same seed and steps as the piles
# run above, told the pile twice:

# %%
projection_run = run_config("50 piles + projection", variant(course_default(), r1=None), images, PILE_STEPS,
                            meter, device=device)

# %% tags=["nbval-ignore-output"]
print(pile_run.summary())
print(projection_run.summary())

# %%
fig = compare_runs([pile_run, projection_run], title=f"D told the pile once and twice, {PILE_STEPS:,} steps each")

# %% [markdown]
# Here, after 6,000 steps, told twice reads 91% confident against 90%, and an FD of 48 against 66 (500
# samples each): the same digits in the same places, fewer smudged ones. D's beliefs split further too: early
# on D(x) climbs to nearly 0.9 while D(G(z)) falls to 0.2, then they settle near 0.56 and 0.44 instead of
# 0.52 and 0.48. With a direction of its own for each pile, D can be sure of more, and what it tells G is
# more specific. The benchmark measured it over 3 seeds, counted in steps, 5,000 samples each
# (`benchmarks/README.md`, *Told the pile twice*): after the steps of a minute an FD of 34 to 37 drawn at
# 0.9, against 40 to 43 told once and drawn at 0.8 (38 and 42 at 0.9), and after the steps of 15 s, 90 to 92% confident digits where the course's GAN told
# once read 78%. It costs 6 to 7% more time a step.

# %%
print("told twice: lower FD:", projection_run.quality.fd < pile_run.quality.fd)

# %% [markdown]
# ### Shorter noise when drawing: the truncation trick
#
# The course default does one more thing, and only when G draws, never in training. The straight-line
# midpoints above showed the idea: shorter noise gives G's most typical digits, clean but alike. The
# course default multiplies the noise's style numbers, all but the first one, which picks the pile, by
# 0.9 whenever it draws. It is a field of its `ModelConfig`:

# %%
print(course_default().model)

# %% [markdown]
# The same trained G (the projection run's) and the same 1,000 noise vectors, drawn with the noise as it is
# and with its style shrunk by a tenth, and by a fifth (every run above drew at 0.9):

# %% tags=["nbval-ignore-output"]
from gan_course.settings import TRUNCATION

z_drawn = sample_noise(1000, 64, torch.Generator().manual_seed(3), device)
drawn, drawn_quality = {}, {}
drawing = projection_run.result.sampler
for psi in (1.0, TRUNCATION, 0.8):
    drawing.truncation = psi  # only how G draws: no weight changes
    drawn[psi] = generate(drawing, z_drawn)
    drawn_quality[psi] = meter.score(drawn[psi])
    print(f"truncation {psi:g}: {drawn_quality[psi].summary()}")

# %%
import matplotlib.pyplot as plt

fig, axes = plt.subplots(1, 3, figsize=(13, 4.9))
for ax, psi in zip(axes, drawn):
    show_grid(drawn[psi][:36], f"truncation {psi:g}", nrow=6, ax=ax)
fig.suptitle(f"The same G, the same noise, after {PILE_STEPS:,} steps", fontsize=14)
plt.show()

# %% [markdown]
# (These are 1,000 other noises than the run's summary above, which read 500: for the same G at 0.9 the FD
# is 61 here against 48 there. An FD moves with the sample it is measured on; compare FDs of samples drawn
# alike.) Here 0.9 reads 90% confident, as the noise as it is does, with the FD 1 higher (61.2 against
# 60.3); 0.8 reads 92%, with FD 64.7: the same digits in the same places, the strokes a little steadier. The
# benchmark measured the course default over 3 seeds on 5,000 samples (`benchmarks/README.md`, *Told the
# pile twice*): after the steps of a minute, 90.8 to 91.2% confident at 1, 92.0 to 92.4% at 0.9 and 92.8 to
# 93.4% at 0.8, with FDs of 32 to 35, 34 to 37 and 38 to 42. Each tenth shrunk buys about a point of
# confident digits and costs 2 to 5 of FD; 0.9 is as far as the course can shrink and keep the minute's FD
# within 1.3 times real digits'. Shrink much further and the digits of a pile grow alike (try 8 below).

# %%
drawing.truncation = TRUNCATION  # back to how the course default draws
print(f"truncation {TRUNCATION:g}: at least as many confident digits:",
      drawn_quality[TRUNCATION].confident >= drawn_quality[1.0].confident,
      " all ten digits:", drawn_quality[TRUNCATION].classes == 10)

# %% [markdown]
# ### A smoother judge: a penalty on D's slope
#
# The course default changes one thing in training too, in D's step. How steep is D's score at a real
# digit? That is its *slope* there, |∂D(x)/∂x|: how fast its verdict changes when the pixels change. A D
# that is steep at the real digits is too sure of them: a few pixels' worth of change swings its score, and
# the directions it hands G swing with it. **R1** (Mescheder and others, *Which training methods for GANs
# do actually converge?*, 2018) adds γ/2 times the squared slope at each real digit, averaged over the
# batch, to D's loss, so D learns to be flat where the real digits are and to tell real from fake by what
# lies between. It is two lines of D's step (the `r1` argument printed near the top of this notebook) and
# this function:

# %%
from gan_course.losses import r1_penalty

print(inspect.getsource(r1_penalty))

# %% [markdown]
# The course default uses γ = 0.3 (`TrainConfig.r1`; `R1_GAMMA`), and it pays the penalty the way StyleGAN2
# does: on every 4th step, four times as strong, so the same push on average for a quarter of the extra
# work. Against the projection run above, the same seed and steps with the penalty, which is `course_default()`:

# %%
smooth_run = run_config("50 piles + R1 (course default)", course_default(), images, PILE_STEPS, meter,
                        device=device)

# %% tags=["nbval-ignore-output"]
print(projection_run.summary())
print(smooth_run.summary())

# %%
fig = compare_runs([projection_run, smooth_run], title=f"Without and with the penalty on D's slope, {PILE_STEPS:,} steps each")

# %% [markdown]
# Did the penalty flatten D? Each run's D, its mean squared slope at 500 real digits (their own piles), the
# very number R1 penalises:

# %%
def d_slope(run) -> float:
    real = images[:500].clone().requires_grad_(True)
    told = nearest_pile(real.detach(), run.result.generator.centres)  # each digit's pile, as D was told in training
    return r1_penalty(run.result.discriminator(real, told), real, 1.0).item()


slopes = {run.name: d_slope(run) for run in (projection_run, smooth_run)}
for name, slope in slopes.items():
    print(f"{name:>30}: D's mean squared slope at real digits {slope:.3f}")

# %% [markdown]
# Here the penalty cuts D's slope at the real digits to a third (0.39 against 1.23), while D's beliefs stay
# about where they were: D(x) 0.55 and D(G(z)) 0.45 over the last 200 steps, against 0.56 and 0.44. It is
# a smoother judge, not a weaker one. **On this seed and these 500 samples it does not pay**: 91% confident
# either way, and the FD higher with it (56 against 48). The benchmark disagrees, on 5,000 samples and on
# two seeds, counted in steps (`benchmarks/README.md`, *Told the pile twice*): with the projection, after
# the steps of a minute an FD of 34.3 on both seeds with the penalty against 38.6 and 37.2 without, and
# after five minutes' steps 28.4 and 28.7 against 33.3 and 36.3, for 0.6 to 0.8 points fewer confident
# digits after five minutes. Before the projection it had been measured on 3 seeds (1,000 samples): an
# FD of 40 to 46 against 47 to 51 after a minute's steps. An FD read on 1,000 samples moves by 4 to 6 from
# one set of noise to the next (`benchmarks/README.md`, *One reading of 1,000 samples*), on 500 by more: one
# run like this one can land either way. A step costs about 4% more.

# %%
print("with the penalty: flatter D:", slopes[smooth_run.name] < slopes[projection_run.name],
      " more confident digits:", smooth_run.quality.confident > projection_run.quality.confident)

# %% [markdown]
# ### A longer memory for a long run
#
# One difference is in what G draws from. Notebook 05's GAN draws from an average of G's weights
# (`ema`): early on it covers about the last ninth of the steps, and from step 8,990 on, the last 1,000
# (a decay of 0.999). The course default lets it keep growing: with a decay of 0.9998 the average covers
# the last ninth of the steps until it reaches 5,000, at step 44,990. How many steps each average covers
# (`ema_rate`, the share of G that each step mixes in, is one over it), with the steps that one minute and
# five minutes bought the benchmark's default on one thread of a core at full pace:

# %%
from gan_course.sampling import ema_rate
from gan_course.settings import EMA_DECAY

steps = range(0, 40_001, 100)
fig, ax = plt.subplots(figsize=(9, 4.5))
shorter = course_default(piles=False).ema  # notebook 05's
for decay, who, width in ((EMA_DECAY, "the course default", 6), (shorter, "notebook 05", 2.5)):
    ax.plot(steps, [1 / ema_rate(decay, s) for s in steps], lw=width, label=f"decay {decay:g} ({who})")
for step, when in ((7_930, "60 s"), (36_273, "300 s")):
    ax.axvline(step, color="gray", ls=":")
    ax.text(step, 4_650, f" {when}", fontsize=13)
ax.set_xlabel("training step", fontsize=13)
ax.set_ylabel("steps the average covers", fontsize=13)
ax.set_ylim(0, 5_000)
ax.tick_params(labelsize=12)
ax.xaxis.set_major_formatter("{x:,.0f}")
ax.yaxis.set_major_formatter("{x:,.0f}")
ax.legend(loc="lower right", fontsize=12)
plt.show()

# %% [markdown]
# In the first minute the two averages are the same to the last bit; after it the longer one keeps more of
# what G learnt and irons out more of its jitter. It takes no part in training: the same seed trains the
# same G either way, and only the digits drawn differ. The benchmark measured it over 3 seeds, counted in
# steps at its day's pace and scored on 5,000 samples each (`benchmarks/README.md`): after five minutes,
# 92.9 to 93.5% confident digits against 92.5 to 92.8% with the shorter average, and an FD as low or lower
# (30.0 to 33.4 against 30.9 to 33.6). Half a point, on every seed, for nothing.

# %%
print("the same average for the first 8,990 steps:",
      all(ema_rate(EMA_DECAY, s) == ema_rate(shorter, s) for s in range(8_990)),
      " longer at step 36,273:", 1 / ema_rate(EMA_DECAY, 36_273) > 1 / ema_rate(shorter, 36_273))

# %% [markdown]
# Why the last *ninth* early on? That is the 10 in the early rate, (1 + step) / (10 + step). The benchmark
# tried others at the steps of the first minute (seed 0, 5,000 samples, step 7,930, the course default
# before its D was told the pile twice, drawn at 0.8, `benchmarks/README.md`):
#
# | early on the average covers | confident | FD |
# | --- | ---: | ---: |
# | the last half | 93.7% | 54.8 |
# | the last third | 93.7% | 51.4 |
# | the last fifth | 92.7% | 46.5 |
# | **the last ninth (the course's)** | 92.1% | **43.0** |
# | the last nineteenth | 91.1% | 43.5 |
#
# A longer memory draws more confident digits but a higher FD; a shorter one draws fewer confident digits
# and no lower FD. The ninth gave the lowest FD on every seed measured (two or three for each memory), at
# every step before the decay's cap but one.

# %% [markdown]
# ### Smaller steps after two minutes
#
# With D told the pile twice, the course default changes one more thing, for long runs only: after step
# 15,000 (a little past two minutes on one thread of a core at full pace) both learning rates halve, once
# (`halve_lr_at`; `HALVE_LR_AT`). Early on, big steps carry G quickly to digits; later its mistakes are
# small, and steps as big overshoot them. The training loop calls this before every step:

# %%
from gan_course.steps import halve_learning_rates

print(inspect.getsource(halve_learning_rates))

# %% [markdown]
# Each optimiser's learning rate at every step, for the course default and for notebook 05's GAN (which
# never halves), read off a real optimiser that the function above changes, with the steps that one and
# five minutes bought the benchmark's course default on one thread at full pace:

# %%
from gan_course.settings import HALVE_LR_AT


def learning_rates(config, steps: int) -> list[float]:
    optimiser = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=config.lr_g)
    rates = []
    for step in range(1, steps + 1):
        halve_learning_rates(config.halve_lr_at, step, optimiser)
        rates.append(optimiser.param_groups[0]["lr"])
    return rates


rates = {who: learning_rates(config, 40_000) for who, config in
         (("the course default", course_default()), ("notebook 05", course_default(piles=False)))}
fig, ax = plt.subplots(figsize=(9, 4))
for (who, lr), width in zip(rates.items(), (6, 2.5)):
    ax.plot(range(1, 40_001), lr, lw=width, label=who)
for step, when in ((6_987, "60 s"), (31_447, "300 s")):  # the benchmark's course default, 2026-12-08
    ax.axvline(step, color="gray", ls=":")
    ax.text(step, 2.05e-3, f" {when}", fontsize=13)
ax.set_xlabel("training step", fontsize=13)
ax.set_ylabel("learning rate (G and D)", fontsize=13)
ax.set_ylim(0, 2.3e-3)
ax.tick_params(labelsize=12)
ax.xaxis.set_major_formatter("{x:,.0f}")
ax.legend(loc="lower left", fontsize=12)
plt.show()

# %% [markdown]
# The first minute is the same either way (this notebook's runs of 6,000 steps never reach the halving).
# The benchmark measured it with the projection over 3 seeds, counted in steps, drawn at 0.9, 5,000 samples
# each (`benchmarks/README.md`, *Told the pile twice*): after five minutes an FD of 28.4, 28.7 and 30.6
# halved, against 34.3 and 31.1 never halved (seeds 0 and 1), with 92.9, 92.1 and 92.6% confident digits
# against 92.0 and 92.6%. Without the projection the same halving had moved nothing beyond what another
# seed moves (`benchmarks/README.md`, *Half the learning rates after two minutes*).

# %%
print("the same rate for the first 15,000 steps:", rates["the course default"][:HALVE_LR_AT] == rates["notebook 05"][:HALVE_LR_AT],
      " half after:", rates["the course default"][-1] == rates["notebook 05"][-1] / 2)

# %% [markdown]
# On the command line each is one setting away:
#
# ```bash
# python -m gan_course train --out runs/piles                   # 60 s, the course default: 50 piles
# python -m gan_course train --projection 0 --out runs/once     # the same, D told the pile beside the pixels only
# python -m gan_course train --truncation 1 --out runs/wide     # the same, drawn with the noise as it is
# python -m gan_course train --r1 0 --out runs/steep            # the same, without the penalty on D's slope
# python -m gan_course train --ema 0.999 --out runs/short       # the same, drawn from notebook 05's shorter average
# python -m gan_course train --seconds 300 --halve-lr-at 0 --out runs/steady  # five minutes, never halved
# python -m gan_course train --islands 10 --out runs/islands    # 10 islands instead of the piles, no R1: island_run
# ```

# %% [markdown]
# ## Saving a conditional generator
#
# `save_generator` stores `conditional: True` in the config, so the generator comes back as G(z, y):

# %%
import tempfile
from pathlib import Path

from gan_course.checkpoint import load_generator, save_generator

folder = tempfile.TemporaryDirectory()
path = save_generator(result.sampler, result.config.model, Path(folder.name) / "generator.pt")
loaded, loaded_config = load_generator(path, device, conditional=True)
print("conditional:", loaded_config.conditional, " same digits:",
      torch.equal(generate(loaded, z_rows, y_rows), generate(result.sampler, z_rows, y_rows)))

# %% [markdown]
# Loading it as an ordinary, unconditional generator is refused, with what to do instead (this cell fails
# on purpose):

# %% tags=["raises-exception"]
load_generator(path, device)

# %% [markdown]
# The command line does the same in a terminal in the project folder:
#
# ```bash
# python -m gan_course train --conditional --out runs/digits       # 120 s; also writes labels.pt
# python -m gan_course sample --digit 7 --n 64 runs/digits         # runs/digits/sample/: 64 sevens
# ```

# %%
folder.cleanup()
print("temporary folder removed:", not Path(folder.name).exists())

# %% [markdown]
# ## Recap
#
# - A conditional GAN gives the digit y to both players: G(z, y) draws it, D(x, y) judges "a real y?".
#   A one-hot y concatenated to the input is a learned embedding of the digit, via the first layer.
# - `train_conditional_and_show` calls `train(config, images, labels=labels)`: notebook 05's step with the
#   labels passed along; its dashboard's extra panel shows, per digit, how often the meter reads the
#   digit asked for.
# - z carries the style, y the digit: a column of the digit grid keeps its style.
# - Gaussian noise lives near the shell |z| ≈ √latent_dim; a straight path cuts inside it (its middle is
#   about 1/√2 as long), a spherical path stays on it.
# - Copying is checked against a yardstick: the nearest training digit of generated digits vs that of
#   held-out real digits, in pixels and in the meter's features.
# - No labels? k-means sorts the digits into piles of similar ones; told the pile as this GAN is told the
#   digit, notebook 05's GAN draws fewer half-way shapes. The course default does this (`course_default()`,
#   `--piles 50`); `course_default(piles=False)` has the islands instead.
# - Told the pile twice: the course default's D hears the pile beside the pixels and again at its output,
#   where each pile has its own direction in D's last hidden layer (a projection discriminator,
#   `projection=True`, `--projection 0` for none): a lower FD from the first seconds on.
# - The truncation trick: when it draws, the course default shrinks the noise's style numbers to 0.9 of
#   their size (`truncation=0.9`, `--truncation 1` for none): more typical, clearer digits, a little less
#   variety. Training never truncates.
# - R1, a penalty on D's slope at the real digits: γ/2 times |∂D(x)/∂x|² added to D's loss (`r1=0.3` in the
#   course default, on every 4th step four times as strong; `--r1 0` for none). D stays flat where the
#   real digits are, and G's strokes settle sooner.
# - A longer memory: the course default draws from an average of G's weights that covers the last ninth
#   of the steps up to 5,000 (`ema=0.9998`, `--ema 0.999` for notebook 05's 1,000): the same digits in the
#   first minute, half a point more confident ones after five.
# - Smaller steps late: the course default halves both learning rates after step 15,000, about two minutes
#   (`halve_lr_at=15_000`, `--halve-lr-at 0` for never); with the projection, a lower FD after five minutes.
#
# ## Try this
#
# 1. Press the same digit button several times. Which digit varies most in style? Which least?
# 2. Set `STEPS = 3_000` and run the notebook again. Which digits fall below the 90% line first?
# 3. In the walk, use `interpolate(z0, 0.3 * z1, 10, "linear")`: the end is far inside the shell. What
#    does G draw there?
# 4. Find the generated digit closest to its training neighbour (`fake_px.argmin()`) and show it next to
#    that neighbour with `show_nearest`. Is it a copy?
# 5. Train on only the first 500 digits (`images[:500]`, `labels[:500]`) for the same steps. Does the
#    ratio of distances go down? What would that mean?
# 6. In a terminal: `python -m gan_course train --conditional --out runs/digits`, then
#    `python -m gan_course sample --digit 4 --n 64 runs/digits` and open `runs/digits/sample/grid.png`.
# 7. Sort the digits into 10 piles instead of 50 (`find_piles(images, 10)`, and 10 for the 50s in the
#    purity cell): how pure are they now? Which digits share a pile?
# 8. Draw the projection run's G at `truncation` 0.5 and 0.2 in the loop above and show their grids beside
#    the three above. Which digits lose their variety first? Why does the FD see it and the confident share not?
# 9. Train the piles with a penalty ten times as strong, `variant(course_default(), r1=3.0)`, for the same
#    steps. How flat is its D now, and what happens to the FD?
# 10. In a terminal, train the course default for five minutes twice, `python -m gan_course train --seconds
#     300 --out runs/halved` (both learning rates halved after step 15,000) and the same with `--halve-lr-at 0
#     --out runs/steady` (never halved). Which summary line reads more confident digits, and which the lower FD?
