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


def test_auto_budgets_give_small_data_enough_steps():
    from sdae.sklearn import MIN_STEPS, epochs_for

    assert epochs_for("auto", 1437, 128, floor=10) == 209  # scikit-learn's digits: 12 batches an epoch
    assert epochs_for("auto", 54000, 128, floor=10) == 10  # MNIST: the floor
    assert epochs_for(7, 1437, 128, floor=10) == 7
    assert 209 * 12 >= MIN_STEPS
