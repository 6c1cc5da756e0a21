"""The names sdae's options choose from, as StrEnums (a leaf module: no torch, nothing of sdae).

`sdae.options` uses them for its fields; each member is its string, so `Optimizer.ADAM == "adam"`.
"""

from __future__ import annotations

from enum import StrEnum


class StageName(StrEnum):
    """The three kinds of training stage (Vincent et al. 2010, section 3.5 and 5)."""

    PRETRAIN = "pretrain"  # greedy layer-wise denoising pretraining, pair by pair
    FINETUNE = "finetune"  # every layer end to end on the denoising criterion
    SUPERVISED = "supervised"  # a softmax layer on the top code, every layer on the labels


class Status(StrEnum):
    RUNNING = "running"
    COMPLETE = "complete"
    DIVERGED = "diverged"


class Optimizer(StrEnum):
    ADAM = "adam"
    SGD = "sgd"


class Loss(StrEnum):
    AUTO = "auto"  # binary cross-entropy for [0, 1] targets behind a Sigmoid, else squared error
    BCE = "bce"
    MSE = "mse"


class Schedule(StrEnum):
    CONSTANT = "constant"
    COSINE = "cosine"


class Activation(StrEnum):
    RELU = "relu"
    SIGMOID = "sigmoid"


class ScalingRule(StrEnum):
    GLOBAL = "global"  # each dataset's own rule: bytes / 255, values in [0, 1] kept, else one minimum and maximum
    FEATURE = "feature"  # every feature min-max scaled on its own
    NONE = "none"  # the values as they are (real-valued data: goes with the affine output)


class Output(StrEnum):
    AUTO = "auto"  # sigmoid where the scaled training data lies in [0, 1], else affine
    SIGMOID = "sigmoid"  # a Sigmoid and cross-entropy: inputs in [0, 1]
    AFFINE = "affine"  # no activation, squared error: real-valued inputs (Vincent et al. 2010, section 3.3)


class Log(StrEnum):
    TENSORBOARD = "tensorboard"


class Pretraining(StrEnum):
    """The layer-wise criterion each pair is pretrained with (Vincent et al. 2010, Table 3's columns)."""

    DAE = "dae"  # the denoising autoencoder (SdA): corrupt the input, reconstruct the clean input
    AE = "ae"  # the ordinary autoencoder (SAA): no corruption while pretraining
    RBM = "rbm"  # the restricted Boltzmann machine by contrastive divergence (DBN); sigmoid units


class BenchModel(StrEnum):
    """The columns of Vincent et al. (2010), Table 3, that `sdae bench` runs (`mlp`: no pretraining, not in the table)."""

    SVM = "svm"  # SVM-rbf on pixels
    MLP = "mlp"  # the 3-layer network trained from random weights on the labels
    SAA3 = "saa3"  # stacked ordinary autoencoders
    DBN1 = "dbn1"  # one restricted Boltzmann machine (CD-1)
    DBN3 = "dbn3"  # three restricted Boltzmann machines (CD-1)
    SDA3 = "sda3"  # stacked denoising autoencoders


class Preset(StrEnum):
    """Named bench protocols: `vincent2010` the paper's own (sigmoid units, plain SGD, its grids)."""

    VINCENT2010 = "vincent2010"
