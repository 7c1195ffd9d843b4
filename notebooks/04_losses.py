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
# # 04 · Losses: how the two players keep score
#
# **What you will learn**
# - binary cross-entropy (BCE), by hand and with PyTorch, and why the course feeds it logits;
# - the labels of the game: real = 1, fake = 0;
# - the discriminator's loss (on real plus on fake) and the generator's loss (against the *real* label);
# - why the generator uses the non-saturating loss `-log D(G(z))` instead of `log(1 - D(G(z)))`;
# - why each network has its own optimizer.
#
# **Prerequisites:** notebooks 01–03; logarithms, the sigmoid `1 / (1 + exp(-x))`, and what
# `loss.backward()` and `optimizer.step()` do.
#
# **Where we are:** notebook 4 of 7. We have data and two networks; now the rules of the game. Notebook
# 05 puts it all together into a training step.

# %% [markdown]
# Inline figures and one seed, as always.

# %%
# %matplotlib inline
import inspect

import matplotlib.pyplot as plt
import torch
from torch import nn

from gan_course.seeding import seed_everything

rng = seed_everything(0)
type(rng).__name__  # torch's random-number generator, not the GAN's

# %% [markdown]
# ## Binary cross-entropy by hand
#
# The discriminator says how sure it is that an image is real: a probability `p`. The target `t` is 1
# for a real image and 0 for a fake. BCE punishes confident mistakes hard:
#
# $$\mathrm{BCE}(p, t) = -\big[t \log p + (1 - t) \log(1 - p)\big],$$
#
# averaged over the batch. Three toy predictions: a real image judged 0.9 real, a fake judged 0.2 real,
# a real image judged 0.6 real:

# %%
p = torch.tensor([0.9, 0.2, 0.6])
t = torch.tensor([1.0, 0.0, 1.0])
by_hand = -(t * torch.log(p) + (1 - t) * torch.log(1 - p)).mean()
round(float(by_hand), 4)

# %% [markdown]
# PyTorch's `nn.BCELoss` computes the same number:

# %%
library = nn.BCELoss()(p, t)
print(round(float(library), 4), "same:", torch.isclose(by_hand, library).item())

# %% [markdown]
# ## The course feeds BCE logits, not probabilities
#
# Our discriminators output a raw score, a *logit* `a`, with `p = sigmoid(a)`. `gan_course.losses.bce`
# takes logits and applies the sigmoid inside `F.binary_cross_entropy_with_logits`. Given the logits of
# the same three probabilities, it gives the same number again:

# %%
from gan_course.losses import bce

logits = torch.logit(p)  # the inverse of the sigmoid
print(round(float(bce(logits, t)), 4), "same:", torch.isclose(bce(logits, t), by_hand).item())

# %% [markdown]
# Why logits? Because a float32 sigmoid rounds to exactly 1.0 for a logit of 40. Take a fake image that
# D is extremely sure is real: the true loss is about 40, but `BCELoss` sees `log(1 - 1) = -inf` and
# clips it to 100. The logit form has no such problem:

# %%
a, fake_target = torch.tensor([40.0]), torch.tensor([0.0])
print("sigmoid(40) == 1.0:", torch.sigmoid(a).item() == 1.0)
print("BCELoss on the probability:", round(float(nn.BCELoss()(torch.sigmoid(a), fake_target)), 4))
print("bce on the logit:          ", round(float(bce(a, fake_target)), 4))

# %% [markdown]
# ## Real = 1, fake = 0
#
# The library names the two labels and builds target tensors shaped like a batch of logits:

# %%
from gan_course.losses import FAKE, REAL, targets_like

print("REAL =", REAL, " FAKE =", FAKE)
targets_like(torch.zeros(4), REAL), targets_like(torch.zeros(4), FAKE)

# %% [markdown]
# ## The discriminator's loss
#
# D wants real images scored 1 and fakes scored 0, so its loss has two terms: BCE on a real batch against
# 1, plus BCE on a fake batch against 0. We need real digits (64 from the test split, the same on every
# machine), and an untrained pair of networks from notebook 03:

# %%
from gan_course.batches import normalise
from gan_course.data import load_mnist
from gan_course.models import ModelConfig, build_models, sample_noise

real = normalise(load_mnist(split="test")[0][:64])
generator, discriminator = build_models(ModelConfig())
z = sample_noise(64, generator.latent_dim, rng)
print(tuple(real.shape), tuple(z.shape))

# %% [markdown]
# D scores both batches. The fakes are `detach()`ed: D's loss must not send gradients into G.

# %%
real_logits = discriminator(real)
fake_logits = discriminator(generator(z).detach())
print(tuple(real_logits.shape), tuple(fake_logits.shape))

# %% [markdown]
# By hand, with `bce` and the two labels, then with the library's `discriminator_loss`: the same two
# numbers. A discriminator that says 0.5 for everything would score `log 2 ≈ 0.6931` on each; this
# untrained one says about 0.5 (its average verdicts are printed last), so both losses sit near it.

# %%
from gan_course.losses import discriminator_loss

by_hand = bce(real_logits, torch.ones(64)), bce(fake_logits, torch.zeros(64))
loss_real, loss_fake = discriminator_loss(real_logits, fake_logits)
print("by hand:", [round(v.item(), 4) for v in by_hand], " library:", [round(loss_real.item(), 4), round(loss_fake.item(), 4)])
print("D's loss = real + fake =", round((loss_real + loss_fake).item(), 4))
print(f"D(x) {torch.sigmoid(real_logits).mean():.2f}, D(G(z)) {torch.sigmoid(fake_logits).mean():.2f}")

# %% [markdown]
# ## The generator's loss: fakes against the *real* label
#
# G wants D to call its fakes real. So its loss scores D's opinion of the fakes against the label 1,
# which is `-log D(G(z))`. This time no `detach()`: the gradient must flow back through D into G.

# %%
from gan_course.losses import generator_loss

fake_logits = discriminator(generator(z))
by_hand = -torch.log(torch.sigmoid(fake_logits)).mean()
print("by hand:", round(by_hand.item(), 4), " library:", round(generator_loss(fake_logits).item(), 4))

# %% [markdown]
# The library's version is one line; here is its source:

# %%
print(inspect.getsource(generator_loss))

# %% [markdown]
# ## Why not simply minimise log(1 - D(G(z)))?
#
# The original GAN paper writes one objective for both players: D maximises, G minimises
# `log(1 - D(G(z)))`. Its argument: early in training G's fakes are poor, D rejects them with confidence,
# so D(G(z)) is close to 0, and there `log(1 - D)` is flat: G gets almost no gradient. `-log D(G(z))`
# pushes towards the same goal but is steepest exactly there. (The course's runs do not start like that:
# an untrained D says about 0.5 for everything, as above, and the lecture loop of notebook 05 begins at
# D(G(z)) = 0.48. D gets that sure only when it is much stronger than G; notebook 06 makes it so, and
# measures what each loss then leaves G.) Let autograd compute both gradients with respect to the logit,
# over a range of logits:

# %%
from gan_course.losses import saturating_generator_loss

a = torch.linspace(-8, 8, 401, requires_grad=True)
# the losses average over the batch; times len(a) gives each logit its own gradient
grad_saturating, = torch.autograd.grad(saturating_generator_loss(a) * len(a), a)
grad_non_saturating, = torch.autograd.grad(generator_loss(a) * len(a), a)
d = torch.sigmoid(a).detach()
print("match -D and D - 1:", torch.allclose(grad_saturating, -d), torch.allclose(grad_non_saturating, d - 1))

# %% [markdown]
# The derivatives are simple: `-D` for `log(1 - D)` and `D - 1` for `-log D`, as the last line
# confirms. Plotted against D(G(z)):

# %%
fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(d, grad_saturating, label="log(1 - D(G(z)))  (saturating)")
ax.plot(d, grad_non_saturating, label="-log D(G(z))  (non-saturating)")
ax.axvspan(0, 0.1, color="grey", alpha=0.15, label="D rejects the fakes (the paper's early training)")
ax.set(title="Gradient of the generator's loss with respect to D's logit",
       xlabel="D(G(z)): the discriminator's probability that a fake is real", ylabel="d loss / d logit",
       ylim=(-1.1, 0.55))
_ = ax.legend(loc="upper center", fontsize=9)

# %% [markdown]
# In numbers, where D rejects the fakes (D(G(z)) = 0.01): the non-saturating loss gives the generator
# about a hundred times more gradient.

# %%
i = int(torch.argmin((d - 0.01).abs()))
print(f"D(G(z)) = {d[i]:.3f}: saturating {grad_saturating[i]:.3f}, non-saturating {grad_non_saturating[i]:.3f}")

# %% [markdown]
# ## One optimizer per network
#
# Each player updates only its own weights. `make_optimizers` builds one Adam over G's parameters and
# one over D's. Which learning rate? The DCGAN paper's 2e-4 is the textbook choice and
# `make_optimizers`' default. The course trains its small MLP GAN at ten times that rate, the one
# `course_default()` holds: at batch 32 (64 after the first 3,000 steps) it stays stable there and draws
# digits within seconds
# (`benchmarks/README.md`, on a core at full pace: 93% confident digits after 30 s of training, where the MLP
# as commonly taught, at 2e-4 and batch 128, reads 25%). We use the course's rate:

# %%
from gan_course.losses import PAPER_LR, make_optimizers
from gan_course.models import count_parameters
from gan_course.settings import course_default

course = course_default()
print(f"the DCGAN paper: {PAPER_LR:g}   the course: G {course.lr_g:g}, D {course.lr_d:g}")
opt_g, opt_d = make_optimizers(generator, discriminator, course.lr_g, course.lr_d)
for name, opt, model in (("opt_g", opt_g, generator), ("opt_d", opt_d, discriminator)):
    n = sum(p.numel() for group in opt.param_groups for p in group["params"])
    print(f"{name}: {n:,} parameters, lr {opt.param_groups[0]['lr']}, same as the model: {n == count_parameters(model)}")


# %% [markdown]
# A small helper tells whether a network's weights have changed since a snapshot:

# %%
def snapshot(model: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def changed(before: list[torch.Tensor], model: nn.Module) -> bool:
    return any(not torch.equal(b, p) for b, p in zip(before, model.parameters()))


changed(snapshot(generator), generator)

# %% [markdown]
# A generator step: the loss flows back through D into G, so D's parameters get gradients too, but
# `opt_g.step()` only moves G's weights.

# %%
g_before, d_before = snapshot(generator), snapshot(discriminator)
opt_g.zero_grad()
generator_loss(discriminator(generator(z))).backward()
opt_g.step()
print("G changed:", changed(g_before, generator), " D changed:", changed(d_before, discriminator))

# %% [markdown]
# D's parameters now hold gradients from G's loss. That is why a training step always starts D's update
# with `opt_d.zero_grad()`. We clear G's gradients from its own step too, so that the check below shows
# only what D's step writes. A discriminator step, with the fakes detached, moves only D, and leaves G
# without any gradient at all:

# %%
g_before, d_before = snapshot(generator), snapshot(discriminator)
opt_g.zero_grad()
opt_d.zero_grad()
loss_real, loss_fake = discriminator_loss(discriminator(real), discriminator(generator(z).detach()))
(loss_real + loss_fake).backward()
opt_d.step()
print("G changed:", changed(g_before, generator), " D changed:", changed(d_before, discriminator))
print("G has no gradients:", all(p.grad is None for p in generator.parameters()))

# %% [markdown]
# A learning rate must be a positive number no larger than 1; the message suggests the usual range (this
# cell fails on purpose):

# %% tags=["raises-exception"]
make_optimizers(generator, discriminator, lr_g=0)

# %% [markdown]
# ## Recap
#
# - BCE `-[t log p + (1 - t) log(1 - p)]` matches `nn.BCELoss`; the course's `bce` takes logits, which
#   stays finite where a float32 sigmoid rounds to 0 or 1.
# - Labels: real = 1, fake = 0. D's loss is BCE(real → 1) + BCE(fake → 0), with the fakes detached.
# - G's loss scores its fakes against the *real* label: `-log D(G(z))`, the non-saturating loss. Its
#   gradient is largest exactly when D rejects the fakes, where `log(1 - D(G(z)))` is flat.
# - One optimizer per network: `opt_g` moves only G, `opt_d` only D; zero the gradients before each step.
#
# ## Try this
#
# 1. Change `p` to `[0.99, 0.01, 0.99]` and then to `[0.01, 0.99, 0.01]`. How big does the BCE get?
# 2. Compute `discriminator_loss` with the labels swapped by hand (real → 0, fake → 1). What would D learn?
# 3. Use `saturating_generator_loss` instead of `generator_loss` in the generator step and, after
#    `backward()`, compare G's gradient norm,
#    `torch.cat([q.grad.flatten() for q in generator.parameters()]).norm()`, with the non-saturating
#    loss's. Why are they close here, where D(G(z)) ≈ 0.5? (Notebook 06 shows where they part.)
# 4. Remove `.detach()` from the discriminator step and check again whether G has gradients.
# 5. Read `inspect.getsource(make_optimizers)`: what are Adam's `betas`, and where did you see them before?
