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
# # 03 · Models: the generator and the discriminator
#
# **What you will learn**
# - the course's two pairs of networks: a fully connected (MLP) pair and a convolutional (DCGAN) pair;
# - how a noise vector `z` becomes a 28 × 28 image, layer by layer, and how an image becomes one score;
# - why the generator gets more parameters than the discriminator;
# - what the DCGAN initialisation does, and what an untrained generator draws;
# - a classic pitfall: `BatchNorm1d(n, 0.8)` sets `eps`, not `momentum`.
#
# **Prerequisites:** notebooks 01 (seeding) and 02 (images in [-1, 1]); `nn.Linear`, `nn.Sequential`
# and the idea of a convolution.
#
# **Where we are:** notebook 3 of 7. We have data; now the two players of the game.

# %% [markdown]
# As always: inline figures and one seed at the top.

# %%
# %matplotlib inline
import inspect

import matplotlib.pyplot as plt
import torch
from torch import nn

from gan_course.seeding import seed_everything

rng = seed_everything(0)
type(rng).__name__

# %% [markdown]
# ## The two players
#
# The **generator** G turns a noise vector `z` of length `latent_dim` into an image. The
# **discriminator** D turns an image into one number, a *logit*: large means "looks real", very negative
# means "looks fake" (a sigmoid turns it into a probability; notebook 04 does that). The sizes come from
# `ModelConfig()`, the plain pair the lectures draw (the course default of notebook 01 adds piles and the
# truncation trick; notebook 07 explains both):

# %%
from gan_course.models import ModelConfig

config = ModelConfig()
config

# %% [markdown]
# ## The MLP discriminator
#
# The simplest discriminator flattens the 784 pixels and applies fully connected layers, each followed by
# `LeakyReLU(0.2)`: unlike `ReLU`, it lets a little gradient through for negative inputs, so the
# generator always gets some signal back. The last layer outputs one raw score, with no sigmoid.

# %%
from gan_course.models import MLPDiscriminator

discriminator = MLPDiscriminator(config.d_hidden)
discriminator

# %% [markdown]
# A batch of 64 images in, 64 scores out:

# %%
images = torch.zeros(64, 1, 28, 28)
discriminator(images).shape

# %% [markdown]
# ## The MLP generator
#
# The generator goes the other way: from `latent_dim` numbers up to 784 pixels. Its hidden blocks are
# `Linear` + `BatchNorm1d` + `LeakyReLU` (no BatchNorm straight on the noise), and it ends in `Tanh`, so
# every pixel lies in (-1, 1), the range of the data from notebook 02. (The course default's G and D are
# also told which of 50 *piles* of look-alike digits an image belongs to, as 50 more inputs to their first
# layer; notebook 07 shows how. Here we build the plain pair that the lectures draw.)

# %%
from gan_course.models import MLPGenerator

generator = MLPGenerator(config.latent_dim, config.g_hidden)
generator

# %% [markdown]
# `sample_noise` draws `z` from a standard normal distribution, from our seeded `rng`:

# %%
from gan_course.models import sample_noise

z = sample_noise(64, config.latent_dim, rng)
z.shape

# %% [markdown]
# ## From noise to image, layer by layer
#
# Let us push noise through `generator.net` one layer at a time and print each output's shape. (We use
# two noise vectors, not one: in training mode BatchNorm needs more than one sample to compute a batch
# mean and variance.)

# %%
x = z[:2]
for layer in generator.net:
    x = layer(x)
    print(f"{layer.__class__.__name__:>12} -> {tuple(x.shape)}")

# %% [markdown]
# The last layer gives 784 numbers per sample; `forward` reshapes them into an image. The whole
# generator, then the discriminator on its output, `D(G(z))`:

# %%
with torch.no_grad():  # no training yet, so no gradients needed
    fake = generator(z)
    print("G(z):   ", tuple(fake.shape), "in", [round(float(fake.min()), 2), round(float(fake.max()), 2)])
    print("D(G(z)):", tuple(discriminator(fake).shape))

# %% [markdown]
# ## Why the generator is the bigger network
#
# Compare the parameter counts below: the generator has 2.7 times as many weights. Generating is
# hard: G must produce every stroke of every digit. Discriminating is easy: D only has to find *one*
# thing that gives a fake away. Many lectures warn that a discriminator as strong as the generator wins
# too quickly and then G learns nothing. Notebook 06 puts that to the test with real runs: a D four
# times wider and stepped several times per G step, the gradient that reaches G measured at every step.
# (Its runs disagree with the warning: there the stronger D gives G *more* gradient, not less.)

# %%
from gan_course.models import count_parameters

for name, model in (("generator", generator), ("discriminator", discriminator)):
    print(f"MLP {name:>13}: {count_parameters(model):>9,} parameters")

# %% [markdown]
# `build_models(config)` builds exactly this pair (and initialises DCGANs, see below); later notebooks
# call it instead of the classes:

# %%
from gan_course.models import build_models

generator, discriminator = build_models(config)
print(type(generator).__name__, count_parameters(generator), type(discriminator).__name__, count_parameters(discriminator))

# %% [markdown]
# The generator checks the shape of its input, so a wrong latent size fails with a clear message instead
# of a matrix-multiplication error deep inside (this cell fails on purpose):

# %% tags=["raises-exception"]
generator(torch.randn(4, 100))

# %% [markdown]
# The discriminator checks its input too: a batch without the channel dimension (fails on purpose):

# %% tags=["raises-exception"]
discriminator(torch.zeros(4, 28, 28))

# %% [markdown]
# ## The DCGAN pair
#
# Images have structure: neighbouring pixels belong together. The DCGAN generator (Radford et al.,
# 2015) uses *transposed convolutions*, which grow a small feature map into a bigger one, each followed
# by `BatchNorm2d` and `ReLU`, and ends in `Tanh`:

# %%
from gan_course.dcgan import DCGANDiscriminator, DCGANGenerator

dcgan_generator = DCGANGenerator(config.latent_dim, config.ngf)
dcgan_generator

# %% [markdown]
# The noise enters as a 1 × 1 "image" with `latent_dim` channels. Each transposed convolution makes it
# larger, 1 × 1 → 7 × 7 → 14 × 14 → 28 × 28, while the channels go 64 → 128 → 64 → 1.

# %%
x = torch.zeros(2, config.latent_dim, 1, 1)
for layer in dcgan_generator.net:
    x = layer(x)
    print(f"{layer.__class__.__name__:>15} -> {tuple(x.shape)}")

# %% [markdown]
# The DCGAN discriminator mirrors it with strided convolutions: 28 × 28 → 14 × 14 → 7 × 7 → one score.

# %%
dcgan_discriminator = DCGANDiscriminator(config.ndf)
x = torch.zeros(2, 1, 28, 28)
for layer in dcgan_discriminator.net:
    x = layer(x)
    print(f"{layer.__class__.__name__:>15} -> {tuple(x.shape)}")

# %% [markdown]
# Convolutions share their weights across the image, so the DCGAN discriminator is tiny; the generator
# again is much bigger:

# %%
for name, model in (("generator", dcgan_generator), ("discriminator", dcgan_discriminator)):
    print(f"DCGAN {name:>13}: {count_parameters(model):>9,} parameters")

# %% [markdown]
# ## The DCGAN initialisation
#
# The DCGAN paper draws every convolution's weights from N(0, 0.02) and BatchNorm's scales from
# N(1, 0.02). `dcgan_init` does that, one module at a time, for `model.apply(dcgan_init)`:

# %%
from gan_course.dcgan import dcgan_init

print(inspect.getsource(dcgan_init))

# %% [markdown]
# PyTorch's default initialisation is much wider. Compare the last layer's weights of two DCGAN
# generators built from the same seed, one left as it is and one passed through `dcgan_init`:

# %%
torch.manual_seed(1)
default_g = DCGANGenerator(config.latent_dim, config.ngf)
torch.manual_seed(1)
init_g = DCGANGenerator(config.latent_dim, config.ngf).apply(dcgan_init)
for name, g in (("PyTorch default", default_g), ("dcgan_init", init_g)):
    print(f"{name:>15}: last layer's weight std {g.net[-2].weight.std():.3f}")

# %% [markdown]
# What does that do to the first images? With the default initialisation, many pixels start deep in
# Tanh's flat tails, near -1 or 1, where its gradient is almost zero; with `dcgan_init` the first images
# are a soft grey, and every pixel can still move.

# %%
with torch.no_grad():
    outputs = {name: g(z) for name, g in (("PyTorch default", default_g), ("dcgan_init", init_g))}
for name, out in outputs.items():
    print(f"{name:>15}: pixel std {out.std():.2f}, share of pixels beyond ±0.99: {(out.abs() > 0.99).float().mean():.3f}")

# %% [markdown]
# The same in a picture: the histogram of the first images' pixels, both initialisations.

# %%
fig, ax = plt.subplots(figsize=(7, 4))
for name, out in outputs.items():
    ax.hist(out.flatten().numpy(), bins=60, range=(-1, 1), alpha=0.6, label=name)
ax.set(title="Pixels of an untrained DCGAN generator", xlabel="pixel value", ylabel="number of pixels")
_ = ax.legend()

# %% [markdown]
# `build_models(ModelConfig("dcgan"))` applies `dcgan_init` for you:

# %%
dcgan_generator, dcgan_discriminator = build_models(ModelConfig("dcgan"))
print(f"last layer's weight std: {dcgan_generator.net[-2].weight.std():.3f}")

# %% [markdown]
# ## What an untrained generator draws
#
# Before training, G knows nothing about digits. Here are both untrained generators on the same 64 noise
# vectors, next to each other. (`show_grid` maps [-1, 1] to [0, 1] for display.)

# %%
from gan_course.visualisation import show_grid

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 5))
with torch.no_grad():
    show_grid(generator(z), "untrained MLP generator", ax=left)
    show_grid(dcgan_generator(z), "untrained DCGAN generator", ax=right)

# %% [markdown]
# Noise in, noise out. Training (notebook 05) is what turns these into digits.
#
# ## A pitfall: `BatchNorm1d(n, 0.8)`
#
# A popular collection of GANs in PyTorch (eriklindernoren's *PyTorch-GAN*) writes
# `nn.BatchNorm1d(out_features, 0.8)`, meaning momentum 0.8 as in Keras.
# But PyTorch's second positional argument is `eps`, the small number added to the variance:

# %%
print(nn.BatchNorm1d(512, 0.8))
print(nn.BatchNorm1d(512))

# %% [markdown]
# `eps = 0.8` is not small. BatchNorm divides by `sqrt(variance + eps)`, so for activations with a small
# variance the output no longer has unit variance; it is squashed towards zero:

# %%
h = 0.5 * torch.randn(64, 512, generator=rng)  # activations with variance 0.25
for bn in (nn.BatchNorm1d(512), nn.BatchNorm1d(512, 0.8)):
    print(f"eps={bn.eps:<6} output std {bn(h).std():.2f}")

# %% [markdown]
# The course's generator uses the default `eps`. If you do want Keras' momentum 0.8, the PyTorch
# equivalent is `nn.BatchNorm1d(n, momentum=0.2)`: PyTorch's momentum weights the *new* batch, Keras'
# the old running value.
#
# ## Recap
#
# - The discriminator maps images (B, 1, 28, 28) to logits (B,); the generator maps noise (B, latent_dim)
#   to images (B, 1, 28, 28) in (-1, 1), thanks to its final `Tanh`.
# - The generator is the bigger network: generating is hard, discriminating is easy.
# - DCGAN: transposed convolutions + BatchNorm + ReLU grow 1 × 1 noise into a 28 × 28 image;
#   `dcgan_init` (N(0, 0.02)) keeps the first images out of Tanh's flat tails.
# - `build_models(config)` builds and initialises a pair; `count_parameters` counts its weights.
# - `BatchNorm1d(n, 0.8)` sets `eps`; write keyword arguments.
#
# ## Try this
#
# 1. Build `c = ModelConfig(latent_dim=16)` and `g = MLPGenerator(c.latent_dim, c.g_hidden)`, and redo the
#    layer-by-layer walk through `g.net` with `sample_noise(2, 16, rng)`. Which shapes change?
# 2. Give the discriminator `d_hidden=(1024, 512)`. How many parameters does it have now, compared
#    with the generator?
# 3. Replace `LeakyReLU(0.2)` by its formula: `torch.where(x > 0, x, 0.2 * x)`. Check it against
#    `nn.LeakyReLU(0.2)(x)` on `torch.linspace(-2, 2, 9)`.
# 4. Put `generator.eval()` before drawing the untrained grid. Does the picture change? Why?
# 5. Look at the DCGAN walk: where would you add a layer to make 56 × 56 images?
