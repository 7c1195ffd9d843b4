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
# # 05 · Training: one step dissected, the loop written out, then a live run
#
# **What you will learn**
# - one GAN training step, line by line, on a real batch: D on real, D on fake with `detach`, D's step,
#   then G through the *updated* D, G's step;
# - what goes wrong without `detach`: D's backward pass writes gradients into G;
# - the whole training loop written out, as lectures write it: epochs and batches, the lists of losses and
#   of D's outputs, a print line every few iterations, a grid from one fixed noise as training goes;
# - that the library's `train` does exactly the same arithmetic, number for number, and what it adds;
# - how to train live with a dashboard, and with sliders and a Train button;
# - why the course draws its digits from an average of G's recent weights;
# - how to read the results: real vs fake, the fixed-noise timeline, the loss and D(x)/D(G(z)) curves,
#   and the digit meter's three figures;
# - how to save a trained generator and load it back.
#
# **Prerequisites:** notebooks 01–04: seeding and the device, MNIST batches in [-1, 1], the two
# networks, BCE with real = 1 / fake = 0 and the two optimizers.
#
# **Where we are:** notebook 5 of 7. All the parts exist; now we make them play. Notebook 06 shows what
# happens when the two players are not evenly matched.

# %% [markdown]
# ## Setup
#
# Inline figures, one seed at the top, and the device. `get_device("auto")` takes a GPU when there is
# one (in a GPU Codespace this cell says `cuda`), else the CPU. On the CPU, `set_threads()` picks how many
# threads torch uses (notebook 01): the seed *and* the thread count decide every number below.

# %% tags=["nbval-ignore-output"]
# %matplotlib inline
import inspect

import torch

from gan_course.device import get_device, set_threads
from gan_course.seeding import seed_everything

rng = seed_everything(0)
device = get_device("auto")
print("this notebook trains on:", device, "with", set_threads(), "CPU thread(s)")

# %% [markdown]
# The course's settings come from `course_default()`; we read them rather than retype them. Its GAN has
# two things the lectures' GAN does not: before training it sorts the digits into 50 *piles* of
# look-alikes, and G and D are told each image's pile (D twice: beside the pixels and at its output); and
# D's step adds a small penalty that keeps D smooth at the real digits (notebook 07 shows both, after the
# conditional GAN that the piles borrow from, and the default's smaller steps after two minutes). Until the live run we play the lectures' game, in which D judges an image alone:
# `course_default(piles=False)`, the same settings with ten *islands* in G's noise instead of the piles,
# and no penalty. The islands and the batch that doubles after 3,000 steps are explained after the training run.

# %%
from gan_course.settings import course_default

config = course_default(piles=False)
print(f"model {config.model.model}, batch size {config.batch_size}, lr_g {config.lr_g:g}, lr_d {config.lr_d:g}, "
      f"beta1 {config.beta1}, k {config.k}, islands {config.model.islands}, double_batch_at {config.double_batch_at}")
print("the course default instead:", course_default().model)

# %% [markdown]
# ## One real batch
#
# A shuffling `DataLoader` as in notebook 02, with the course's batch size. One batch of real digits:

# %%
from gan_course.batches import load_dataset, make_loader

loader = make_loader(load_dataset(), config.batch_size, rng)
real, labels = next(iter(loader))
real = real.to(device)
print(tuple(real.shape), f"range [{real.min():.0f}, {real.max():.0f}]")

# %% [markdown]
# A fresh pair of networks (notebook 03) and their two optimizers (notebook 04), with the course's
# learning rates and Adam's `beta1`. We keep a copy of the starting weights: at the end of the step we
# will give the same weights to the library's `train_step` and compare.

# %%
import copy

from gan_course.losses import make_optimizers
from gan_course.models import build_models

generator, discriminator = build_models(config.model, device)
start_g, start_d = copy.deepcopy(generator.state_dict()), copy.deepcopy(discriminator.state_dict())
opt_g, opt_d = make_optimizers(generator, discriminator, config.lr_g, config.lr_d, (config.beta1, 0.999))
type(generator).__name__, type(discriminator).__name__

# %% [markdown]
# The noise for this step, one `z` per real image, drawn from its own seeded stream so that we can draw
# exactly the same `z` again later:

# %%
from gan_course.models import sample_noise

z = sample_noise(len(real), generator.latent_dim, torch.Generator().manual_seed(5), device)
tuple(z.shape)

# %% [markdown]
# ## The discriminator's half of the step
#
# **Line 1: zero D's gradients.** PyTorch *adds* new gradients to old ones, and the previous generator
# step left gradients in D (G's loss flows back through D). `set_to_none=True` drops them entirely.

# %%
opt_d.zero_grad(set_to_none=True)
print("D has no gradients:", all(p.grad is None for p in discriminator.parameters()))

# %% [markdown]
# **Line 2: D on real images.** D outputs logits; the sigmoid turns them into D(x), D's probability
# that an image is real. An untrained D says about 0.5 for everything.

# %%
real_logits = discriminator(real)
d_x = torch.sigmoid(real_logits).mean().item()
print(tuple(real_logits.shape), f"D(x) = {d_x:.2f}")

# %% [markdown]
# **Line 3: D on fake images, detached.** G turns `z` into fakes; D scores them. `fake.detach()` cuts
# the graph between them: D's loss is about D, and its backward pass must stop at the fakes.

# %%
fake = generator(z)
fake_logits = discriminator(fake.detach())
d_g_z1 = torch.sigmoid(fake_logits).mean().item()
print(tuple(fake.shape), f"D(G(z)) = {d_g_z1:.2f}")

# %% [markdown]
# **Line 4: D's loss and its backward pass.** Real towards 1, fake towards 0 (notebook 04). After
# `backward()` D has gradients and G still has none, thanks to `detach`:

# %%
from gan_course.losses import discriminator_loss

loss_real, loss_fake = discriminator_loss(real_logits, fake_logits)
loss_d = loss_real + loss_fake
loss_d.backward()
print(f"loss_d = {loss_d.item():.2f}")
print("D has gradients:", all(p.grad is not None for p in discriminator.parameters()))
print("G has gradients:", any(p.grad is not None for p in generator.parameters()))

# %% [markdown]
# ### What goes wrong without `detach`
#
# Do the same on copies of the two networks, but score `fake` instead of `fake.detach()`. The backward
# pass no longer stops at the fakes: it runs on through G and writes gradients into G's parameters.

# %%
g_copy, d_copy = copy.deepcopy(generator), copy.deepcopy(discriminator)
g_copy.zero_grad(set_to_none=True)
d_copy.zero_grad(set_to_none=True)
wrong_real, wrong_fake = discriminator_loss(d_copy(real), d_copy(g_copy(z)))  # no detach
(wrong_real + wrong_fake).backward()
g_norm = torch.cat([p.grad.flatten() for p in g_copy.parameters()]).norm().item()
print("G has gradients:", all(p.grad is not None for p in g_copy.parameters()), f"(norm {g_norm:.2f})")

# %% [markdown]
# Those gradients point the way that lowers *D's* loss: a step along them would make G's fakes *easier*
# to catch. `train_step` zeroes G's gradients before G's own step, so there the leak "only" costs a
# backward pass through G for nothing on every step; in a loop that forgets to zero them, G is pushed
# the wrong way. Either way: detach the fakes for D's step.
#
# **Line 5: step D.** Only D's weights move. Scored again, the real digits look more real to D and the
# same fakes more fake. (A big jump for one step: Adam's very first step moves every weight by about the
# full learning rate; later steps are smaller.)

# %%
opt_d.step()
with torch.no_grad():
    d_x_after = torch.sigmoid(discriminator(real)).mean().item()
    d_g_z2 = torch.sigmoid(discriminator(fake)).mean().item()
print(f"D(x):    {d_x:.2f} -> {d_x_after:.2f}   up: {d_x_after > d_x}")
print(f"D(G(z)): {d_g_z1:.2f} -> {d_g_z2:.2f}   down: {d_g_z2 < d_g_z1}")

# %% [markdown]
# ## The generator's half of the step
#
# **Line 6: zero G's gradients, and score the fakes with the *updated* D.** No `detach` this time: the
# gradient must flow through D into G. G's loss scores its fakes against the *real* label (the
# non-saturating loss of notebook 04). D gets gradients too, which the next step's line 1 throws away.

# %%
from gan_course.losses import generator_loss

opt_g.zero_grad(set_to_none=True)
fake_logits_after = discriminator(fake)
loss_g = generator_loss(fake_logits_after)
loss_g.backward()
print(f"loss_g = {loss_g.item():.2f}", " G has gradients:", all(p.grad is not None for p in generator.parameters()))

# %% [markdown]
# **Line 7: step G.** Now the same `z` gives fakes that the (unchanged) D finds more real:

# %%
opt_g.step()
with torch.no_grad():
    d_g_z_new = torch.sigmoid(discriminator(generator(z))).mean().item()
print(f"D(G(z)) after G's step: {d_g_z2:.2f} -> {d_g_z_new:.2f}   up: {d_g_z_new > d_g_z2}")

# %% [markdown]
# That is one whole step. With `k > 1` the generator repeats lines 6 and 7 with fresh noise before D's
# next turn.
#
# ## The library does the same
#
# The library holds those seven lines in two functions: `discriminator_step` (lines 1 to 5) and
# `generator_step` (lines 6 and 7). `train_step` calls one after the other (and offers the variations of
# notebook 06: more steps of either, G first, another generator loss). D's half, with one option the
# lectures' step leaves off: `r1`, the course default's penalty on D's slope (notebook 07), two lines
# that do nothing when `r1` is 0:

# %%
from gan_course.steps import discriminator_step, generator_step, train_step

print(inspect.getsource(discriminator_step))

# %% [markdown]
# G's half. It also measures the size (norm) of the gradient that reaches G: notebook 06 uses it.

# %%
print(inspect.getsource(generator_step))

# %% [markdown]
# To check it, give it the same starting weights, fresh optimizers, the same real batch and the same
# noise stream (`rng` seeded with 5, like our `z`), and compare the weights after one step with ours:

# %%
g2, d2 = build_models(config.model, device)
g2.load_state_dict(start_g)
d2.load_state_dict(start_d)
opt_g2, opt_d2 = make_optimizers(g2, d2, config.lr_g, config.lr_d, (config.beta1, 0.999))
stats = train_step(g2, d2, opt_g2, opt_d2, real, rng=torch.Generator().manual_seed(5))
same = lambda a, b: all(torch.allclose(p, q, atol=1e-6) for p, q in zip(a.parameters(), b.parameters()))
print("same D after one step:", same(d2, discriminator), " same G:", same(g2, generator))

# %% [markdown]
# It also returns the figures we printed by hand: the losses, D(x), D(G(z)) before D's step
# (`d_g_z1`) and after it (`d_g_z2`), and the norm of G's gradient (`grad_g`):

# %%
ours = {"loss_d": loss_d.item(), "loss_g": loss_g.item(), "d_x": d_x, "d_g_z1": d_g_z1, "d_g_z2": d_g_z2}
for name, value in ours.items():
    print(f"{name:>7}: train_step {stats[name]:.2f}   by hand {value:.2f}")
print(f" grad_g: {stats['grad_g']:.2f}")

# %% [markdown]
# ## The training loop, written out
#
# Now the whole loop, the way lectures and the PyTorch DCGAN tutorial write it: for each epoch, for each
# batch of the `DataLoader`, the step above; then the bookkeeping. We start again from scratch: a seed,
# fresh networks, the course's 10,000 training digits through torchvision's transforms (notebook 02),
# the course's batch size and learning rates, and one **fixed noise**: the same 64 `z` through G every
# time we look, so that we watch the same 64 digits take shape. `fused=True` asks Adam to update all of
# a network's weights in one pass instead of one small operation per weight tensor: the same rule as in
# notebook 04, with fewer, bigger operations (on one CPU thread the course default's steps per second
# rose from 168 to 213 with it; `benchmarks/README.md`).

# %%
from torch import nn

from gan_course.batches import COURSE_SIZE
from gan_course.sampling import generate

SEED = 0
rng = seed_everything(SEED)
generator, discriminator = build_models(config.model, device)
dataset = load_dataset(n=COURSE_SIZE)
loader = make_loader(dataset, config.batch_size, rng)
latent_dim = generator.latent_dim
fixed_noise = sample_noise(64, latent_dim, device=device)
criterion = nn.BCEWithLogitsLoss()  # BCE on D's raw scores (notebook 04)
opt_d = torch.optim.Adam(discriminator.parameters(), lr=config.lr_d, betas=(config.beta1, 0.999), fused=True)
opt_g = torch.optim.Adam(generator.parameters(), lr=config.lr_g, betas=(config.beta1, 0.999), fused=True)
num_epochs, print_every = 5, 100
print(f"{num_epochs} epochs of {len(loader)} batches of {config.batch_size}")

# %% [markdown]
# The loop. Read it top to bottom: it is the seven lines of the step, plus five lists, a print line and
# a picture. The sum `errD_real + errD_fake` with one `backward()` gives exactly the gradient of two
# `backward()` calls in a row, because PyTorch adds gradients up (we check this below). The grid is
# drawn with G in `eval()` mode and under `torch.no_grad()`: BatchNorm then uses its running averages,
# so an image depends only on its own `z`, and no graph is built for a picture; `generator.train()` switches
# BatchNorm back to batch statistics for training.

# %% tags=["nbval-ignore-output"]
G_losses, D_losses, D_x, D_G_z1, D_G_z2 = [], [], [], [], []
grids = [(0, generate(generator, fixed_noise))]  # (step, images): what G draws before any training
show_at = {10, 20, 50, 100, 200, 500, 1000}  # log-spaced: G changes fastest early on
iters = 0
for epoch in range(num_epochs):
    for i, (real, _) in enumerate(loader):
        real = real.to(device)
        b = real.size(0)
        ones, zeros = torch.ones(b, device=device), torch.zeros(b, device=device)
        # (1) D: maximise log D(x) + log(1 - D(G(z)))
        discriminator.zero_grad(set_to_none=True)
        output = discriminator(real)
        errD_real = criterion(output, ones)  # real images: label 1
        d_x = torch.sigmoid(output).mean().item()
        fake = generator(sample_noise(b, latent_dim, device=device))
        output = discriminator(fake.detach())  # detach: D's backward must stop at the fakes
        errD_fake = criterion(output, zeros)  # fakes: label 0
        d_g_z1 = torch.sigmoid(output).mean().item()
        errD = errD_real + errD_fake
        errD.backward()
        opt_d.step()
        # (2) G: maximise log D(G(z)), through the D we just updated
        generator.zero_grad(set_to_none=True)
        output = discriminator(fake)  # no detach: the gradient must reach G
        errG = criterion(output, ones)  # fakes scored against the *real* label
        d_g_z2 = torch.sigmoid(output).mean().item()
        errG.backward()
        opt_g.step()
        # bookkeeping: every step into the lists, a line every print_every steps, a grid now and then
        G_losses.append(errG.item()), D_losses.append(errD.item())
        D_x.append(d_x), D_G_z1.append(d_g_z1), D_G_z2.append(d_g_z2)
        iters += 1
        if i % print_every == 0:
            print(f"[{epoch}/{num_epochs}][{i}/{len(loader)}]  Loss_D {errD.item():.4f}  Loss_G {errG.item():.4f}  "
                  f"D(x) {d_x:.4f}  D(G(z)) {d_g_z1:.4f} / {d_g_z2:.4f}")
        if iters in show_at or (epoch == num_epochs - 1 and i == len(loader) - 1):
            generator.eval()
            with torch.no_grad():
                grids.append((iters, generator(fixed_noise).cpu()))
            generator.train()

# %% [markdown]
# The grid lines say what `generate()` (from the library) does in one call: `eval()`, `no_grad()`, and back
# to the previous mode. The lists now hold one value per step:

# %%
print(f"{len(G_losses):,} steps; first D loss {D_losses[0]:.2f} (2 log 2 = 1.39: D says 0.5 for everything); "
      f"grids at steps {[step for step, _ in grids]}")

# %% [markdown]
# ### The loop's own curves
#
# Plain matplotlib on the five lists. Each step scores one batch of 32, so single steps are noisy; the
# bold lines are running means over 50 steps (`running_mean`).

# %%
import matplotlib.pyplot as plt

from gan_course.visualisation import running_mean

fig, (left, right) = plt.subplots(1, 2, figsize=(15, 5))
for ax, curves, title, ylabel in ((left, {"D": D_losses, "G": G_losses}, "Losses", "BCE loss"),
                                  (right, {"D(x)": D_x, "D(G(z)) before D's step": D_G_z1,
                                           "D(G(z)) after D's step": D_G_z2}, "What D believes", "probability 'real'")):
    for (label, values), color in zip(curves.items(), ("tab:blue", "tab:orange", "tab:green")):
        ax.plot(values, color=color, alpha=0.2, linewidth=0.6)
        ax.plot(running_mean(values), color=color, linewidth=2, label=label)
    ax.set(title=title, xlabel="iteration", ylabel=ylabel)
    ax.legend()

# %% [markdown]
# ### The fixed noise, step by step
#
# The same 64 `z` at steps 0, 10, 20, 50, 100, 200, 500, 1,000 and the last: noise at step 0, the same
# grey blob everywhere at step 10, speckled blobs up to step 200, strokes by step 500, rough digits by step
# 1,000. Each position keeps its `z`, so you can follow one digit as it forms.

# %%
from gan_course.visualisation import show_snapshots

fig = show_snapshots(grids)

# %% [markdown]
# ### One `backward()` of the sum, or two `backward()` calls
#
# The loop sums D's two losses and calls `backward()` once; the PyTorch tutorial calls `backward()` on each
# and lets the gradients add up. On the last batch, both ways, from the same D:

# %%
def d_gradients(two_calls: bool) -> list[torch.Tensor]:
    discriminator.zero_grad(set_to_none=True)
    loss_real = criterion(discriminator(real), ones)
    loss_fake = criterion(discriminator(fake.detach()), zeros)
    if two_calls:
        loss_real.backward()
        loss_fake.backward()  # adds onto the gradients of the first call
    else:
        (loss_real + loss_fake).backward()
    return [p.grad.clone() for p in discriminator.parameters()]


print("the same gradient:", all(torch.equal(a, b) for a, b in zip(d_gradients(False), d_gradients(True))))

# %% [markdown]
# ### `train()` does the same arithmetic
#
# The library's `train` runs this loop for us. To check that it is the same loop, we replay the run:
# the same seed (so the same starting weights and the same shuffling), the same batches from a fresh
# `DataLoader`, noise from the same stream, as many steps, the same number of CPU threads (another
# number adds up in another order), one batch size throughout as in the loop (`double_batch_at=None`,
# see *Bigger batches later*), and compare every recorded number.

# %%
from dataclasses import replace

from gan_course.training import train

rng = seed_everything(SEED)
replay_g, replay_d = build_models(config.model, device)
replay_loader = make_loader(dataset, config.batch_size, rng)
same = replace(config, steps=iters, seconds=None, threads=torch.get_num_threads(), double_batch_at=None)
replay = train(same, replay_loader, device, models=(replay_g, replay_d), progress=False)
lists = {"loss_d": D_losses, "loss_g": G_losses, "d_x": D_x, "d_g_z1": D_G_z1, "d_g_z2": D_G_z2}
for name, ours in lists.items():
    print(f"{name:>7}: {len(ours):,} values, identical: {getattr(replay.history, name) == ours}")
print("same weights at the end:", all(torch.equal(p, q) for p, q in zip(replay_g.parameters(), generator.parameters())))

# %% [markdown]
# Identical to the last bit, on the CPU. (On a GPU some kernels may add in a different order from run to
# run, and the two could then differ in the last digits; this course has not yet measured that on a GPU.)
#
# What `train` adds on top of the loop: it can take the digits as one tensor already in memory (no PIL
# image per digit; how much faster that is, we measure below); a budget in epochs, steps or seconds; a
# progress bar; the norm of G's gradient at every step; a second copy of G whose weights are a running
# average (`ema`, see *Reading the results*), from which it draws its snapshots; health warnings when D
# wins outright; a clean stop on NaN or on the ■ button; and a `callback` for live dashboards. It reads
# its numbers from the device once every 100 steps instead of after every step (`.item()` makes the
# program wait for a GPU to finish; on a CPU it costs little), and it picks its CPU threads when it
# starts and records them in `history.threads`. It can double its batch part-way through a run (*Bigger
# batches later*, below). It also offers the variations of notebook 06: several D steps per G step, G
# first, and the original "saturating" generator loss.

# %% [markdown]
# ## Training for real
#
# From here on we let `train` do the loop, on the course's 10,000 digits held in memory as one tensor
# (`training_images()`, the fast path of notebook 02). One epoch is one pass over them:
# `10,000 // batch_size` steps.

# %%
from gan_course.batches import training_images
from gan_course.settings import steps_for_epochs

images = training_images()
print(tuple(images.shape), "steps per epoch:", len(images) // config.batch_size,
      "(after step 3,000:", len(images) // config.batch_size_at(3000), "steps of", config.batch_size_at(3000), "digits)")

# %% [markdown]
# Why one tensor in memory, and not the `DataLoader` of the loop above? The loader turns every digit into a
# PIL image and back (notebook 02). Here are 100 batches of 32 fetched both ways, each shuffled by its own
# seeded generator so that `rng` is left as it was:

# %% tags=["nbval-ignore-output"]
import time

from gan_course.batches import shuffled_batches


def ms_for_100(batches) -> float:
    start = time.perf_counter()
    for _ in zip(range(100), batches):
        pass
    return (time.perf_counter() - start) * 1000


from_loader = ms_for_100(make_loader(dataset, config.batch_size, torch.Generator().manual_seed(0)))
in_memory = ms_for_100(shuffled_batches(images, config.batch_size, torch.Generator().manual_seed(0)))
print(f"100 batches of {config.batch_size}: DataLoader {from_loader:.0f} ms, in memory {in_memory:.1f} ms "
      f"({from_loader / in_memory:.0f}x faster)")

# %% [markdown]
# In the run stored here the `DataLoader` took 535 ms for 100 batches and the tensor in memory 4.0 ms:
# over a hundred times faster (the line above holds your machine's figures). At about 5 ms a batch, the
# loader alone takes nearly as long as a whole training step on 32 digits (6.4 ms in *Bigger batches
# later*, below), so feeding `train` from it would almost double the time of every step.

# %% [markdown]
# While it trains we want a number for "does this look like digits?". The **digit meter** is a small
# classifier trained on real MNIST. It is trained once, the first time it is asked for, and then loaded
# from a cache. On held-out real digits it is right this often:

# %% tags=["nbval-ignore-output"]
from gan_course.quality import load_meter

meter = load_meter()
print(f"digit meter accuracy on held-out real digits: {meter.accuracy:.1%}")

# %% [markdown]
# The two settings you will change most. `LR` is the learning rate of both networks (the course
# default); `EPOCHS` is chosen so the run takes about a minute on one CPU thread (the summary line under
# the dashboard says how long it took here). The benchmark (`benchmarks/README.md`, one thread, a core at
# full pace) read 91% of this default's digits confidently after 15 s and after 30 s of training, and 92%
# after 60 s (real digits: 96%), with an FD 1.23 times real digits' on 5,000 samples, within the 1.3 times
# the course aims for (over 3 seeds, counted in steps: 92.0 to 92.5%, 1.22 to 1.32 times); a core at half
# that pace buys the same steps 2 to 3 times later. Change them and run the next cell again.

# %%
EPOCHS = 30
LR = course_default().lr_g
print(f"EPOCHS = {EPOCHS} ({steps_for_epochs(config, len(images), EPOCHS):,} steps), LR = {LR:g}")

# %% [markdown]
# `train_and_show` trains the course default (piles and all) with these settings and redraws a dashboard
# in place every few seconds: the two losses, what D believes, the samples from the *fixed noise* (the same 64
# `z` every time, so you watch one set of digits take shape) and the digit meter. It ends with one
# summary line (its times and the meter's figures depend on the machine). Stop it early with the ■
# button: you keep what it has learnt so far. If another program takes the CPU while it trains (say a
# neighbour's notebook), a red line under the dashboard says so, with the steps per second now and before.

# %% tags=["nbval-ignore-output"]
from gan_course.live import train_and_show

result = train_and_show(images, epochs=EPOCHS, lr=LR, meter=meter, device=device)

# %% [markdown]
# The run took exactly the planned number of steps. It kept the fixed noise's images at steps 0, 10, 20,
# 50, 100, 200, 500, 1,000, ..., every `snapshot_every` steps (200 in the course's settings: hence 400
# below), and at the last step:

# %%
snapshot_steps = [step for step, _ in result.history.snapshots]
print("steps:", len(result.history.step), " snapshots:", len(snapshot_steps), " the first ones:", snapshot_steps[:8])
print("stopped early:", result.history.interrupted)

# %% [markdown]
# ## Train it yourself: sliders and a Train button
#
# The same function behind controls: the number of epochs, the learning rate (of both networks), the
# model (`mlp` or the convolutional `dcgan`, slower on a CPU) and `k`, the generator steps per
# discriminator step. **Train** trains afresh with the slider values, live, in the area under the
# button. Nothing trains until you click. `on_result` keeps your latest run in `result`, so the cells
# further down show *your* run when you re-run them.

# %%
from IPython.display import display

from gan_course.live import training_controls


def keep(new_result):
    global result
    result = new_result


controls = training_controls(images, EPOCHS, LR, meter=meter, device=device, on_result=keep)
display(controls)

# %% [markdown]
# The sliders only offer settings that make sense in a lesson. The same check guards `train_and_show`:
# zero epochs is refused with a message that says what is allowed (this cell fails on purpose):

# %% tags=["raises-exception"]
from gan_course.live import check_settings

check_settings(0, LR)

# %% [markdown]
# So is a learning rate far outside what GANs train with:

# %% tags=["raises-exception"]
check_settings(EPOCHS, 0.5)

# %% [markdown]
# ## The training console: pause, step, rewind
#
# `train_and_show` runs to its end. GAN Lab (an interactive GAN in the browser, poloclub.github.io/ganlab)
# lets you stop the game at any moment and play it one move at a time; the `TrainingConsole` does that on
# real MNIST. It trains in the background, so the notebook stays
# responsive while it trains, and its controls are:
# - **Train**, **Pause** and **Stop**; while paused, **Step D** and **Step G** make exactly one update of
#   one player, so you see what a single move does to the numbers;
# - a learning rate for each network, and D and G steps per round; a change takes effect at the next step,
#   and the dashboard marks the step where it happened;
# - **delay per step**: slow motion;
# - the **timeline**: at saved points, the fixed-noise grid with the losses, D(x), D(G(z)) and the digit
#   meter's reading; scrub it with the slider or press ▶;
# - **Fork here**: go back to the selected point and continue with the current settings. The first run
#   stays on the plot, dashed, to compare against.
#
# The console plays the lectures' game unless told otherwise, `course_default(piles=False)`, whose D judges
# an image alone. Given `course_default()` it plays the course's GAN with piles: it sorts the digits first,
# and a lone **Step G**, with no real digits to take piles from, asks for each pile as often as the digits
# fall into it. First the console from code: 300 steps, then it pauses.

# %%
from gan_course.console import TrainingConsole

console = TrainingConsole(images, meter=meter, device=device, seed=0)
console.run(steps=300, wait=True)
print(f"{console.state} at step {console.step}; timeline points at steps {[p['step'] for p in console.branch.timeline]}")

# %% [markdown]
# Now by hand. Press **Train** to carry on from step 300, then **Pause**. Press **Step D** a few times and
# watch D's and G's losses in the status line, then **Step G**. Move D's learning rate while it trains,
# scrub the timeline back, and **Fork here** with other settings. Nothing trains until you click.
# (Notebook 06 measures what single moves do.)

# %%
display(console)

# %% [markdown]
# ## Reading the results
#
# ### Real next to fake
#
# `generate` runs a generator in evaluation mode on the fixed noise. Which generator? A learning rate as
# high as the course's makes G's weights jitter from step to step, and its digits with them: speckles
# and broken strokes. So the training run also keeps `result.ema_generator`, an *exponential moving
# average* of G's weights over roughly the last 1,000 steps (`update_ema`, after every step; it takes no
# part in training). Big GANs such as StyleGAN sample from such an average too. Here is G itself next to
# its average, on the same noise:

# %%
import matplotlib.pyplot as plt

from gan_course.sampling import generate
from gan_course.visualisation import show_grid

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 5))
_ = show_grid(generate(result.generator, result.fixed_noise[:36]), "G after the last step", ax=left)
_ = show_grid(generate(result.ema_generator, result.fixed_noise[:36]), "The average of G's recent weights", ax=right)

# %% [markdown]
# The digit meter reads both on the same 500 noises:

# %%
z_meter = sample_noise(500, latent_dim, torch.Generator().manual_seed(1), device)
for name, which in (("G after the last step", result.generator), ("the average", result.ema_generator)):
    print(f"{name:>21}: {meter.score(generate(which, z_meter)).summary()}")

# %% [markdown]
# The average reads more confident digits (91% against 85%), and the FD, how far the meter's features of
# these digits lie from real digits', falls from 103 to 52: the jitter of G's last step shows up in the
# strokes even more than in which digit the meter reads.

# %% [markdown]
# `result.sampler` is the generator the course draws from: the average (the dashboard, the snapshots, the
# meter and the saved checkpoint all use it). Left: 64 real training digits; right: 64 fakes.

# %%
from gan_course.visualisation import show_real_vs_fake

fake = generate(result.sampler, result.fixed_noise)
fig = show_real_vs_fake(images[:64], fake, title=f"After {len(result.history.step):,} steps")

# %% [markdown]
# ### The same noise over time
#
# The run's own timeline, drawn from the averaged generator: compare it with the loop's grids above,
# drawn from G itself.

# %%
from gan_course.visualisation import show_snapshots

fig = show_snapshots(result.history.snapshots)

# %% [markdown]
# ### The losses
#
# GAN losses do not fall towards zero as in ordinary training: each player's loss depends on the other
# one. Healthy looks like this: both noisy, neither running away after the first few hundred steps. D's
# loss stays a little below 2 log 2 ≈ 1.39, its value when D says 0.5 for everything; G's loss settles
# near 0.8, a little above log 2 ≈ 0.69 (both averaged over the last 200 steps below).

# %%
from gan_course.visualisation import plot_d_outputs, plot_losses

fig = plot_losses(result.history)

# %% [markdown]
# ### What the discriminator believes
#
# D(x) on real digits and D(G(z)) on fakes. Balanced training keeps both near 0.5, with D(x) a little
# above: D can tell a bit, and that bit is what teaches G. D(G(z)) after D's step lies below D(G(z))
# before it, because every D step pushes the fakes down. Notebook 06 shows the curves of runs that go
# wrong: D(G(z)) pinned near 0, or both stuck at exactly 0.5.

# %%
fig = plot_d_outputs(result.history)

# %% [markdown]
# Every step scores one batch, so the curves are noisy. Averaged over the last 200 steps:

# %% tags=["nbval-ignore-output"]
last = slice(-200, None)
mean = lambda values: sum(values[last]) / len(values[last])
history = result.history  # your latest run: the one from the sliders, if you pressed Train
print(f"D(x) {mean(history.d_x):.2f}, D(G(z)) before D's step {mean(history.d_g_z1):.2f}, "
      f"after it {mean(history.d_g_z2):.2f}")
print(f"loss_d {mean(history.loss_d):.2f}, loss_g {mean(history.loss_g):.2f}")

# %% [markdown]
# ### The digit meter's reading
#
# The meter scores 500 samples from noise of its own (seeded, so every run is scored on the same `z`):

# %% tags=["nbval-ignore-output"]
z_meter = sample_noise(500, result.config.model.latent_dim, torch.Generator().manual_seed(1), device)
quality = meter.score(generate(result.sampler, z_meter))
print("generated:", quality.summary())
print("per digit:", quality.counts)

# %% [markdown]
# Three figures:
# - **confident**: the share of samples the meter classifies with probability ≥ 0.9 *and* whose features
#   lie as close to real digits of that class as 99% of real digits do: samples that look clearly like
#   *some* digit. Blobs and smudges are not confident, even when the classifier alone would call them an 8.
# - **classes**: how many of the ten digits appear among the confident samples (each with at least 2% of
#   all the samples scored, 10 of 500). A generator that draws only a few kinds of digit, *mode
#   collapse*, scores low here even when its samples are crisp. `counts` lists the confident samples per digit 0–9.
# - **FD**: the Fréchet distance between the meter's features of the fakes and of real digits, the idea
#   behind the FID score used in research, on a small scale. Lower is better; only compare FDs measured
#   by the same meter.
#
# For scale, real digits from the training set score:

# %% tags=["nbval-ignore-output"]
print("real:     ", meter.score(images[:500]).summary())

# %% [markdown]
# After this short run the generator draws (nearly) every kind of digit: at least 8 of the 10 on any
# machine. But compare the two lines above: here 91% of its samples are confident against 96% of real
# digits, though its FD (52) is already below theirs (74): there is room to train longer.

# %%
print("500 samples scored:", quality.n, " at least 8 digits present:", quality.classes >= 8)

# %% [markdown]
# ### The average's own BatchNorm statistics
#
# One more detail of drawing from the average. G's BatchNorm layers keep a running mean and variance of
# what flows into them, and in evaluation mode they normalise with those. G measured them on its own
# weights; the average's weights differ a little, so the numbers flowing through its layers differ too,
# and a copy of G's statistics fits it only roughly. `train` therefore measures them again for the
# average, at every snapshot and at the end: one pass of 1,024 fixed noises through it
# (`remeasure_batchnorm`; BigGAN calls them "standing statistics"). It takes about 10 ms on one CPU thread
# (`benchmarks/README.md`), and it changes no weight and no step of training. The meter, on the same 500
# noises, with G's statistics copied in and
# with the average's own:

# %% tags=["nbval-ignore-output"]
from gan_course.sampling import remeasure_batchnorm

borrowed = copy.deepcopy(result.sampler)
for mine, from_g in zip(borrowed.buffers(), result.generator.buffers()):
    mine.copy_(from_g)  # G's statistics: what update_ema leaves after every step
before = meter.score(generate(borrowed, z_meter))
remeasure_batchnorm(borrowed)  # what train does at each snapshot
after = meter.score(generate(borrowed, z_meter))
print("G's statistics:     ", before.summary())
print("the average's own:  ", after.summary())

# %% [markdown]
# Not on this run: the FD rises from 48 to 52 for the same weights, and the confident share stays at 91%.
# The course measured it on runs of the lectures' settings, `course_default(piles=False)`
# (`benchmarks/README.md`, 4 seeds, 1,000 samples each), where the FD fell at every mark: from 116–134 to
# 90–100 after 30 s and from 46–61 to 41–49 after 60 s; with the course default's D told the pile twice
# (notebook 07) it has not been measured again. One run of 500 samples, where the two FDs lie within 5, can
# go either way: a claim like this one needs several seeds.

# %%
print("own statistics, lower FD:", after.fd < before.fd, " same digits as the run's sampler:",
      torch.equal(generate(borrowed, z_meter), generate(result.sampler, z_meter)))

# %% [markdown]
# ## Islands in the noise
#
# The lectures' config at the top, `course_default(piles=False)`, changes one more thing, and not in the
# loop: the noise. Plain noise, 64 numbers from
# N(0, 1), is one connected cloud, and G is a smooth function of it. Between a z that G turns into a 1 and
# a z that it turns into an 8 lie z's it must turn into something in between: half-digits, which the
# meter rightly does not count. Its G (`ModelConfig(islands=10)`) first replaces the noise's
# first 10 numbers by a *pick*: 3 where the largest of them was, 0 at the other nine (`to_islands`). The
# other 54 numbers stay as they are. So the noise is now ten separate islands, each picked by one draw in
# ten, with nothing in between. No labels are involved: G itself decides what each island draws.

# %%
from gan_course.models import to_islands

z_two = sample_noise(2, config.model.latent_dim, torch.Generator().manual_seed(0))
print("plain z, first 12 numbers:  ", [round(v, 2) for v in z_two[0, :12].tolist()])
print("the same z on its island:   ", [round(v, 2) for v in to_islands(z_two, 10)[0, :12].tolist()])
print("islands of course_default(piles=False):", config.model.islands)

# %% [markdown]
# Does it make the digits better? The same seed and the same number of steps,
# once with plain noise and once with the islands (`variant` and `run_config` train a copy of a config
# with one setting changed; notebook 06 uses them for every experiment):

# %%
from gan_course.experiments import compare_runs, run_config, variant

ISLAND_STEPS = 6000  # about 45 s each on one CPU thread
plain_run = run_config("plain noise", variant(config, islands=0), images, ISLAND_STEPS, meter, device=device)
island_run = run_config("10 islands", config, images, ISLAND_STEPS, meter, device=device)

# %% tags=["nbval-ignore-output"]
print(plain_run.summary())
print(island_run.summary())

# %%
fig = compare_runs([plain_run, island_run], title=f"Plain noise and 10 islands, {ISLAND_STEPS:,} steps each")

# %% [markdown]
# Here, after 6,000 steps, the islands lift the confident share from 76% to 82% and lower the FD from 124
# to 97; the grids show fewer half-formed strokes. The benchmark (`benchmarks/README.md`, one thread)
# found the same on 3 seeds after 30 and 60 s of training: after 60 s, 81 to 84% confident with the
# islands against 72 to 74% with plain noise; after five minutes, 89% against 80%. They do not reach real
# digits' 96%: within one island G still blends styles, and some islands hold more than one kind of digit.

# %%
print("islands: more confident digits:", island_run.quality.confident > plain_run.quality.confident,
      " lower FD:", island_run.quality.fd < plain_run.quality.fd)

# %% [markdown]
# Here is what the islands run made of its islands: one row per island, the other 54 numbers drawn afresh
# for each column.

# %%
z_rows = sample_noise(100, config.model.latent_dim, torch.Generator().manual_seed(2), device).view(10, 10, -1)
z_rows[:, :, :10] = torch.eye(10, device=device).unsqueeze(1)  # row i: the pick on island i
fig = show_grid(generate(island_run.result.sampler, z_rows.view(100, -1)), "One row per island", nrow=10,
                figsize=(6, 6))

# %% [markdown]
# Some rows hold one kind of digit in many styles (only 1s, 6s, 7s or 0s; nearly only 2s), others two or
# three that share strokes (4 and 9; 3, 5 and 8), one a mix (7, 1, 2, 8 and 9): G has kept many kinds
# apart, though not all.
#
# The course default goes one step further, still without labels: it sorts the digits into 50 piles of
# look-alikes before training and tells D each image's pile too, so that D judges "a real digit *of this
# pile*?". Notebook 07 explains it after the conditional GAN it borrows from, and measures it against the
# islands: after 6,000 steps there, 90% confident against 84%, and an FD of 68 against 91 (its islands
# run is not this one: notebook 07 trains on 9,000 of the 10,000 digits and keeps 1,000 aside). The
# benchmark (`benchmarks/README.md`, one thread, a core at full pace) read 92% confident after 60 s of
# training with the piles (D told the pile twice), against 84% with the islands.

# %% [markdown]
# ## Bigger batches later
#
# The default changes one more setting, in the loop this time: after 3,000 steps its batches double, from
# 32 digits to 64 (`double_batch_at=3000`). The change waits for the next epoch to begin, so every epoch
# has one batch size: an epoch of 32 digits is 312 steps (10,000 // 32), so the first epoch of 64 starts at
# step 3,120. Why change it during a run? Each step estimates the gradient from one batch, and the
# smaller the batch, the noisier the estimate. Early on G is far from any digit and a rough direction is
# enough: many cheap steps win. Later its mistakes are small (a stroke too thick, a loop not closed), and
# the noise of an estimate from 32 digits hides them; 64 digits halve the estimate's variance, for about
# 1.4 to 1.5 times the time per step on one CPU thread (measured below). (Smith and others, *Don't decay the learning rate, increase the batch
# size*, 2018, make the same trade in ordinary training.)

# %%
import math

print("batch size of an epoch that starts at step 0, 2,999, 3,000:", [config.batch_size_at(s) for s in (0, 2999, 3000)])
per_epoch = len(images) // config.batch_size  # steps in an epoch of 32 digits
doubled_at = math.ceil(config.double_batch_at / per_epoch) * per_epoch  # the first epoch from step 3,000 on
print(f"{ISLAND_STEPS:,} steps of the default: {doubled_at:,} of 32 digits, then {ISLAND_STEPS - doubled_at:,} of 64")

# %% [markdown]
# The default run of the islands comparison above did exactly that. Against it, the same seed with 32
# digits throughout (`variant(config, double_batch_at=None)`), for 6,800 steps: as long as the default's
# 6,000, because a step on 64 digits takes longer (the printed seconds show how long each took here).

# %%
ONE_BATCH_STEPS = 6800  # about as many seconds as the default's 6,000 steps on one CPU thread
one_batch_run = run_config("32 digits throughout", variant(config, double_batch_at=None), images, ONE_BATCH_STEPS,
                           meter, device=device)
doubled_run = replace(island_run, name=f"32, then 64 from step {doubled_at:,}")

# %% tags=["nbval-ignore-output"]
for run in (one_batch_run, doubled_run):
    print(f"{run.summary()}  ({run.result.history.seconds[-1]:.0f} s)")
seconds = doubled_run.result.history.seconds  # elapsed seconds after each step
on_32, on_64 = seconds[doubled_at - 1], seconds[-1] - seconds[doubled_at - 1]
print(f"ms per step: {1000 * on_32 / doubled_at:.1f} on 32 digits, {1000 * on_64 / (ISLAND_STEPS - doubled_at):.1f} on 64")

# %%
fig = compare_runs([one_batch_run, doubled_run], title="One batch size, and bigger batches later, in about the same time")

# %% [markdown]
# In this run, after about 45 s each, 32 digits throughout is a point ahead: 83% confident against 82%
# with the doubling, and an FD of 94 against 97; the grids look alike. On one seed, a point or two either
# way is within what another seed changes. The benchmark (`benchmarks/README.md`, one thread, this
# machine) ran both for five minutes: without the doubling ahead at 60 s (86% against 83%, FD 51 against
# 53), level at two minutes (88% each, FD 42 against 41), and behind after five (89% against 91%, FD 45
# against 37). So the doubling costs a little in the first minute and pays over a longer run; a
# 45-second run like this one shows only the cost. (On a faster machine, measured earlier on 3 seeds,
# the doubling was ahead already at 60 s: 84 to 87% against 80 to 85%.)

# %%
gap = doubled_run.quality.confident - one_batch_run.quality.confident
print("bigger batches later, after about 45 s: within 3 points of 32 digits throughout:", abs(gap) <= 0.03)

# %% [markdown]
# ## Save the generator and load it back
#
# `save_generator` writes the generator's weights (here the averaged one) together with the `ModelConfig` that rebuilds it, atomically (a
# crash never leaves half a file). We save into a temporary folder; to keep a generator, save it under
# `runs/` in the project folder (git ignores it).

# %%
import tempfile
from pathlib import Path

from gan_course.checkpoint import load_generator, save_generator

folder = tempfile.TemporaryDirectory()
path = save_generator(result.sampler, result.config.model, Path(folder.name) / "generator.pt")
print(path.name, "saved:", path.is_file())

# %% [markdown]
# `load_generator` rebuilds the network from the saved config alone and returns it in evaluation mode.
# The loaded generator draws exactly the same digits from the same noise:

# %%
loaded, loaded_config = load_generator(path, device)
print(loaded_config.model, type(loaded).__name__)
print("same digits:", torch.equal(generate(loaded, result.fixed_noise), generate(result.sampler, result.fixed_noise)))
folder.cleanup()

# %% [markdown]
# ## Recap
#
# - One step: zero D's gradients → D on real → D on `fake.detach()` → D's loss, backward, step D →
#   zero G's gradients → the *updated* D on the fakes, scored against the real label → backward, step G.
# - Without `detach`, D's backward pass writes gradients into G that point the wrong way.
# - The loop written out: `for epoch`, `for i, (real, _) in enumerate(loader)`, the step, five lists, a
#   print line every `print_every` iterations, and a grid from one fixed noise at log-spaced steps.
# - `train_step` is that step; `train` is that loop, bit for bit, plus an averaged G, budgets and
#   warnings; `train_and_show` adds a live dashboard and `training_controls` puts sliders on it.
# - Read a run by its pictures (real vs fake, snapshots of the fixed noise), its curves (losses that
#   stay level, D(x) a little above 0.5 and D(G(z)) a little below) and the digit meter (confident,
#   classes, FD).
# - Ten islands in the noise (`to_islands`, `course_default(piles=False)`): G keeps some kinds of digit
#   apart instead of drawing the half-way shapes between them, and the meter counts more confident digits.
#   The course default goes further: 50 piles of look-alike digits that G and D are told (notebook 07).
# - Its batches double after 3,000 steps (`double_batch_at`): quick, rough steps first, steadier ones
#   once G draws digits.
# - It draws from the average of G's weights (`ema`), with BatchNorm statistics measured on the average
#   itself (`remeasure_batchnorm`): the same weights, a lower FD.
# - `save_generator` / `load_generator` round-trip a generator with its config.
# - The `TrainingConsole` pauses a run, steps one player at a time, changes each learning rate live and
#   forks from any point of its timeline.
#
# ## Try this
#
# 1. In the written-out loop, set `num_epochs = 10` and `print_every = 50`. At which step do the grids
#    first show digit-like strokes?
# 2. In the loop, replace `output = discriminator(fake)` in G's half by `discriminator(fake.detach())`.
#    What happens to the grids, and why? (Hint: which parameters get gradients now?)
# 3. Set `EPOCHS = 60` and run the training cell again. How do confident and FD change?
# 4. Use the sliders: set the learning rate to `1e-4`, then to `1e-2`. What do the curves do in each case?
# 5. In the console: press **Train**, **Pause** after a few hundred steps, press **Step D** five times and
#    watch D's loss in the status line; then **Step G** once. Then scrub the timeline back to step 200 and
#    **Fork here** with D's learning rate at `1e-4`. How do the two branches' curves differ?
# 6. In a terminal in the project folder, run `python -m gan_course train --epochs 15 --out runs/mine`:
#    the same run without a notebook. Then open `runs/mine/grid.png`.
# 7. Run the islands comparison with `variant(config, islands=20)` and with `islands=2`. Do more islands
#    give more confident digits? Does the grid of one row per island change?
# 8. Double the batch sooner, `variant(config, double_batch_at=500)`, and compare it with the default over
#    the same 6,000 steps. Is it better per step? Is it better per second?
