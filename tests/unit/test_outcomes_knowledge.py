"""The outcomes data: the numbers the definitions use and the published figures, as cited."""

from __future__ import annotations

from ldnkit.knowledge import knowledge_base
from ldnkit.knowledge.outcomes import outcome_book


def test_a_responder_falls_by_30_percent_as_immpact_grades_moderately_important() -> None:
    responder = outcome_book().responder
    assert responder.min_reduction == 0.30
    assert "dworkin-2008-immpact" in responder.sources


def test_persistence_is_shown_at_30_60_and_90_days_grace() -> None:
    persistence = outcome_book().persistence
    assert persistence.default_grace_days == 30
    assert persistence.sensitivity_grace_days == (30, 60, 90)
    assert persistence.default_days_supply == 30


def test_the_case_series_figures_are_those_its_abstract_reports() -> None:
    (series,) = outcome_book().published
    figures = {f.id: f for f in series.figures}
    # McKenzie-Brown et al. 2023, J Pain Res 16:1993-1998 (abstract).
    assert figures["prescribed"].value == 137
    assert figures["never-filled"].value == 0.44
    assert figures["took-ldn"].value == 70
    assert figures["some-relief"].value == 0.64
    assert [p.p_value for p in series.predictors] == [0.018, 0.00435, 0.038]
    for figure_id in ("prescribed", "never-filled", "took-ldn", "some-relief"):
        assert "mckenzie-brown-2023" in figures[figure_id].sources


def test_figures_the_abstract_does_not_report_cite_only_the_article_that_gives_them() -> None:
    (series,) = outcome_book().published
    figures = {f.id: f for f in series.figures}
    for figure_id in ("pain-change", "days-on-therapy", "continuing"):
        assert figures[figure_id].sources == ("seed-003",)
        assert figures[figure_id].note


def test_every_predictor_group_names_a_real_condition() -> None:
    kb = knowledge_base()
    for series in outcome_book().published:
        for predictor in series.predictors:
            for group in predictor.groups:
                kind, _, key = group.partition(":")
                assert kind in {"condition", "icd10cm"}
                if kind == "condition":
                    kb.condition(key)  # KeyError if unknown
                else:
                    assert len(key) == 3
