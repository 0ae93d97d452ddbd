"""`ask`: answers made only of knowledge-base records, safety from the rules, honest refusals."""

from __future__ import annotations

import pytest

from ldnkit.domain.ask.model import MAX_QUESTION_CHARS, Answer
from ldnkit.domain.ask.records import build_records, render_rule
from ldnkit.knowledge import knowledge_base
from ldnkit.knowledge.ask import refusals
from ldnkit.knowledge.rules import rule_texts
from ldnkit.services.ask import ask
from ldnkit.validation import InputError


def ids(answer: Answer) -> list[str]:
    return [s.id for s in answer.statements]


def first_text(answer: Answer, record_id: str) -> str:
    return next(s.text for s in answer.statements if s.id == record_id)


# ---- safety from the rules ----------------------------------------------------------------


def test_a_brand_opioid_gets_the_screens_opioid_rule_first_with_its_washout() -> None:
    answer = ask("Can I take LDN with Norco?")
    assert answer.status == "answered"
    assert ids(answer)[0] == "rule:opioid-active"
    rendered = render_rule(
        rule_texts()["opioid-active"],
        subject="Norco",
        ingredients="hydrocodone",
        kind="(short-acting)",
        read_as="",
        washout=7,
    )
    assert answer.statements[0].text == rendered
    assert "no-opioids" in ids(answer)[:3]


@pytest.mark.parametrize(
    ("question", "days", "acting"),
    [
        ("how long after stopping tramadol can i start ldn", 7, "short-acting"),
        ("OxyContin 20 mg twice a day, when could LDN start?", 10, "long-acting"),
        ("My patient is on methadone maintenance. Can she start LDN?", 14, "long-acting"),
        ("Is a fentanyl patch compatible with low-dose naltrexone?", 10, "long-acting"),
    ],
)
def test_the_opioid_free_days_follow_the_opioids_kind(
    question: str, days: int, acting: str
) -> None:
    text = first_text(ask(question), "rule:opioid-active")
    assert f"wait {days} days after the last dose" in text
    assert f"({acting})" in text


def test_methadone_and_buprenorphine_also_bring_the_switching_withdrawal_statement() -> None:
    assert "buprenorphine-methadone-withdrawal" in ids(ask("can i take ldn if im on suboxone"))


def test_a_misspelt_opioid_is_still_an_opioid_and_the_rule_says_how_it_was_read() -> None:
    answer = ask("taking tramdol and want to try LDN")
    assert ids(answer)[0] == "rule:opioid-active"
    assert '"tramdol"' in answer.statements[0].text


def test_a_thyroid_drug_gets_the_monitoring_rule_and_the_disagreement() -> None:
    answer = ask("Can I take LDN with levothyroxine?")
    assert ids(answer)[:3] == ["rule:thyroid-medication", "thyroid-monitoring", "thyroid-registry"]
    assert answer.statements[0].text.startswith("levothyroxine: monitor thyroid function")
    assert [c.id for c in answer.conflicts] == ["thyroid-dose-change"]


def test_a_gut_acting_opioid_is_named_as_such_not_as_an_opioid() -> None:
    answer = ask("Can I take loperamide with LDN for diarrhea?")
    assert ids(answer)[0] == "rule:opioid-peripheral"
    assert "rule:opioid-active" not in ids(answer)


@pytest.mark.parametrize(
    ("question", "first", "conflict"),
    [
        ("Is LDN safe in pregnancy?", "rule:pregnancy", "pregnancy-safety"),
        ("Is it safe to breastfeed on LDN?", "breastfeeding-milk-data", "breastfeeding-data"),
        (
            "I have surgery next month, do I need to stop LDN?",
            "procedure-hold",
            "perioperative-hold",
        ),
        (
            "Can someone with chronic kidney disease take LDN?",
            "rule:kidney-impaired",
            "kidney-impairment",
        ),
        ("Can I take LDN with fatty liver?", "rule:liver-chronic", "liver-contraindication"),
        ("LDN in decompensated cirrhosis", "rule:liver-acute", "liver-contraindication"),
        ("Can children take LDN?", "children", "children-use"),
    ],
)
def test_safety_subjects_are_answered_from_their_rules_with_the_disagreement(
    question: str, first: str, conflict: str
) -> None:
    answer = ask(question)
    assert ids(answer)[0] == first
    assert conflict in [c.id for c in answer.conflicts]


def test_50_mg_naltrexone_is_told_apart_from_ldn() -> None:
    answer = ask("I take 50 mg naltrexone for alcohol, is that LDN?")
    assert {"tablets-50mg", "standard-dose-indications"} <= set(ids(answer)[:3])


def test_a_two_part_question_answers_both_parts() -> None:
    answer = ask("I take tramadol and levothyroxine, can I start LDN?")
    assert {"rule:opioid-active", "rule:thyroid-medication"} <= set(ids(answer)[:5])


# ---- how people ask -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Why am I having weird dreams on LDN?", "side-effect:vivid-dreams"),
        ("can i take low dose naltrexone while pregant", "rule:pregnancy"),
        ("fibromyalga LDN evidence", "condition:fibromyalgia"),
        ("fibro and low dose naltrexone evidence", "condition:fibromyalgia"),
        ("M79.7 LDN evidence", "condition:fibromyalgia"),
        ("M79.7", "condition:fibromyalgia"),
        ("95417003", "condition:fibromyalgia"),
        ("What if I need pain meds while on LDN?", "no-opioids"),
        ("is a glass of wine ok with low dose naltrexone", "avoid-alcohol"),
        ("does low dose naltrexone cause diarrhea", "side-effect:diarrhoea"),
    ],
)
def test_lay_words_misspellings_and_codes_reach_the_right_record(
    question: str, expected: str
) -> None:
    assert expected in ids(ask(question))[:5]


# ---- honesty ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    [
        "What is the maximum daily dose of ibuprofen?",
        "Is amoxicillin safe during pregnancy?",
        "What causes kidney stones?",
        "What is the capital of France?",
    ],
)
def test_questions_outside_ldn_are_refused_in_one_kind_sentence(question: str) -> None:
    answer = ask(question)
    assert answer.status == "out_of_scope"
    assert answer.message == refusals().out_of_scope
    assert answer.statements == []
    assert answer.conflicts == []
    assert answer.sources == []


def test_an_ldn_question_nothing_covers_says_what_is_not_covered_and_whom_to_ask() -> None:
    answer = ask("Does LDN cause hair loss?")
    assert answer.status == "no_answer"
    assert answer.statements == []
    assert answer.message is not None
    assert '"hair loss"' in answer.message
    assert "clinician or pharmacist" in answer.message


def test_an_answer_never_pads_with_records_that_do_not_answer() -> None:
    # One safety subject and nothing else asked: only its curated records, no word-overlap extras.
    answer = ask("Is LDN safe in pregnancy?")
    assert set(ids(answer)) <= {"rule:pregnancy", "pregnancy-category", "planning-pregnancy"}


def test_every_sentence_shown_is_a_knowledge_base_record_or_a_rule_rendered_for_a_drug() -> None:
    records = {r.id: r.text for r in build_records(knowledge_base())}
    for question in (
        "Can I take LDN with Norco?",
        "Does LDN work for fibromyalgia and how long does it take?",
        "What are the side effects of low dose naltrexone?",
        "What are the ACR 2016 fibromyalgia criteria?",
    ):
        for statement in ask(question).statements:
            if statement.id in records:
                assert statement.text == records[statement.id]
            else:
                rule = rule_texts()[statement.id.removeprefix("rule:")]
                prefix = rule.message.split("{subject}")[1].split("{")[0].strip()
                assert prefix in statement.text


def test_every_cited_source_is_listed_and_resolves() -> None:
    kb = knowledge_base()
    answer = ask("Is it safe to breastfeed on LDN?")
    listed = [s.id for s in answer.sources]
    cited = {i for s in answer.statements for i in s.sources}
    cited |= {i for c in answer.conflicts for p in c.positions for i in p.sources}
    assert cited == set(listed)
    assert len(listed) == len(set(listed))
    for source in answer.sources:
        assert source.citation == kb.source(source.id).citation


def test_the_same_question_gets_the_same_answer() -> None:
    question = "Does LDN work for fibromyalgia and how long does it take?"
    assert ask(question) == ask(question)
    assert ask(question).knowledge_base == knowledge_base().version


# ---- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize("question", ["", "   ", "\n\t", "\x00\x01\x02"])
def test_an_empty_question_is_bad_input_naming_the_field(question: str) -> None:
    with pytest.raises(InputError) as raised:
        ask(question)
    assert raised.value.problems[0].field == "question"


def test_control_characters_are_read_as_spaces() -> None:
    answer = ask("Can I take LDN\x00 with\x1b Norco?\x07")
    assert answer.question == "Can I take LDN with Norco?"
    assert ids(answer)[0] == "rule:opioid-active"


def test_a_question_longer_than_the_bound_is_refused_saying_so() -> None:
    answer = ask("Can I take LDN with Norco? " * 4000)
    assert answer.status == "out_of_scope"
    assert answer.message is not None
    assert f"{MAX_QUESTION_CHARS:,}" in answer.message
    assert answer.statements == []


def test_a_question_at_the_bound_is_read() -> None:
    question = ("Can I take LDN with Norco? " * 40)[:MAX_QUESTION_CHARS]
    assert ask(question).status == "answered"


@pytest.mark.parametrize(
    "question",
    [
        "Puedo tomar naltrexona de dosis baja con mi medicamento para la tiroides",
        "Kann ich niedrig dosiertes Naltrexon während der Schwangerschaft nehmen",
        "Можно ли принимать налтрексон при беременности?",
        "低剂量纳曲酮安全吗",
    ],
)
def test_a_question_in_another_language_is_refused_clearly(question: str) -> None:
    answer = ask(question)
    assert answer.status == "out_of_scope"
    assert answer.message == refusals().not_english
