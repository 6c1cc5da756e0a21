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


def test_auto_budgets_give_every_stage_min_steps_updates_on_the_examples_it_trains_on(monkeypatch):
    """"auto" epochs: each stage the estimators train gets at least MIN_STEPS optimizer steps on its own examples
    (the classifier's training part, not the validation part) and not a whole epoch more, unless the floor of
    epochs asks for more; a number of epochs is taken as given. Counted where the stages start, without training."""
    import dataclasses
    import math

    import pytest
    from sklearn.datasets import load_digits

    import sdae.stages
    from sdae.sklearn import MIN_STEPS

    X, y = load_digits(return_X_y=True)
    started, real_run_stage = [], sdae.stages.run_stage

    class Stop(Exception):
        """Raised where the classifier's last stage would start: its budget is known, nothing more to see."""

    def budget_only(stage, model, options, *args, **kwargs):
        started.append((stage.name, stage.n, options.epochs, math.ceil(stage.n / options.batch_size)))
        if stage.name == "supervised":
            raise Stop
        return real_run_stage(stage, model, dataclasses.replace(options, epochs=0), *args, **kwargs)

    monkeypatch.setattr(sdae.stages, "run_stage", budget_only)

    def budgets(estimator):
        started.clear()
        try:
            estimator.fit(X, y)
        except Stop:
            pass
        return list(started)

    def auto(floor):
        def check(name, n, epochs, batches):
            if epochs == floor:  # the floor is more than enough
                assert epochs * batches >= MIN_STEPS, (name, n, epochs, batches)
            else:
                assert epochs * batches >= MIN_STEPS > (epochs - 1) * batches, (name, n, epochs, batches)
        return check

    small = dict(hidden_layer_sizes=(8, 4), batch_size=128, random_state=0)
    transformer = budgets(SDAETransformer(**small, pretrain_epochs="auto"))
    assert [(name, n) for name, n, *_ in transformer] == [("pretrain", len(X))] * 2  # each pair, on every example
    for stage in transformer:
        auto(floor=10)(*stage)
    classifier = budgets(SDAEClassifier(**small, pretrain_epochs="auto", epochs="auto"))
    assert [name for name, *_ in classifier] == ["pretrain", "pretrain", "supervised"]
    assert {n for _, n, *_ in classifier} == {len(X) - round(0.1 * len(X))}  # the training part only
    for name, *stage in classifier:
        auto(floor=30 if name == "supervised" else 10)(name, *stage)
    # many batches an epoch (large data, or small batches): the floor
    assert {epochs for _, _, epochs, _ in budgets(SDAETransformer(**{**small, "batch_size": 4}))} == {10}
    assert [epochs for _, _, epochs, _ in budgets(SDAEClassifier(**{**small, "batch_size": 4}))] == [10, 10, 30]
    # a number of epochs is the number of epochs
    assert [epochs for _, _, epochs, _ in budgets(SDAEClassifier(**small, pretrain_epochs=3, epochs=7))] == [3, 3, 7]
    with pytest.raises(ValueError):
        SDAEClassifier(epochs="many").fit(X, y)
