"""scikit-learn's own estimator checks, through its public `parametrize_with_checks`.

The estimators are checked at small sizes that train in a fraction of a second. (At the
classifier's default budget, 30 epochs counted on the check's 300-example blobs, a few checks'
accuracy bars are not met: making the defaults adapt to small data is open work.)
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sdae.sklearn import SDAEClassifier, SDAETransformer

SMALL = dict(hidden_layer_sizes=(16,), batch_size=32, random_state=0)


@parametrize_with_checks([SDAETransformer(pretrain_epochs=3, **SMALL),
                          SDAEClassifier(pretrain_epochs=2, epochs=30, learning_rate=0.01, **SMALL)])
def test_scikit_learn_conventions(estimator, check):
    check(estimator)
