"""scikit-learn estimators around the stacked denoising autoencoder.

`SDAETransformer` (codes as features) and `SDAEClassifier` (pretraining, then supervised
fine-tuning) follow scikit-learn's conventions the way `sklearn.neural_network.BernoulliRBM` does,
so they work in `Pipeline`, `GridSearchCV` and `clone`.
"""

from sdae.sklearn.classifier import SDAEClassifier
from sdae.sklearn.common import MIN_STEPS, epochs_for
from sdae.sklearn.transformer import SDAETransformer

__all__ = ["MIN_STEPS", "SDAEClassifier", "SDAETransformer", "epochs_for"]
