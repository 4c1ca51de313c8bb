"""Swedish as people write it: greetings by first name, a role as the subject of a
sentence in its definite form (from the organisation data, derived for one-word titles,
required for longer ones)."""

from __future__ import annotations

import pytest

from models.definition import DefinitionError
from models.swedish_mail import derived_definite, first_name
from models.validation import load_definition
from notifications.rendering import render
from tests.notifications.test_rendering import message, step


@pytest.mark.parametrize(
    "name, greeted",
    [("Eva Ek", "Eva"), ("Eva-Lena Nilsson", "Eva-Lena"), ("Karin Sundqvist Öberg", "Karin")],
    ids=["simple", "hyphenated", "two-surnames"],
)
def test_greeting_by_first_name(name, greeted):
    assert first_name(name) == greeted
    assert render(message("opened", recipient_name=name)).text.startswith(f"Hej {greeted}!\n")


@pytest.mark.parametrize(
    "title, definite",
    [
        ("Regiondirektör", "Regiondirektören"),
        ("Enhetschef", "Enhetschefen"),
        ("Policyägare", "Policyägaren"),
        ("Förvaltningschef/regionstabschef", "Förvaltningschefen/regionstabschefen"),
        ("Överordnad linjechef", None),  # several words: the data must say
    ],
    ids=["-ör", "-chef", "-are", "two-roles", "several-words"],
)
def test_definite_forms_derived_from_one_word_titles(title, definite):
    assert derived_definite(title) == definite


def test_each_role_of_the_data_has_its_definite_form(small_definition, region_definition):
    for definition in (small_definition, region_definition):
        for role in definition.organisation.roles.values():
            assert role.definite and role.definite[0].isupper(), role.key
    organisation = small_definition.organisation
    assert organisation.decider_subject("overordnad_linjechef") == "Den överordnade linjechefen"
    assert organisation.decider_subject("regiondirektor") == "Regiondirektören"
    assert organisation.decider_subject("rs") == "Regionstyrelsen"  # a body by its name
    assert region_definition.organisation.decider_subject("regiondirektor") == "Regiondirektören"


def test_a_role_of_several_words_without_its_definite_form_is_refused(small_copy):
    path = small_copy / "organisation.yaml"
    text = path.read_text()
    assert ", definite: Den överordnade linjechefen" in text
    path.write_text(text.replace(", definite: Den överordnade linjechefen", ""))
    with pytest.raises(DefinitionError) as caught:
        load_definition(small_copy)
    assert any("behöver sin bestämda form" in issue.message for issue in caught.value.issues)


def test_the_approval_names_the_deciding_role_in_its_definite_form():
    decided = message("decided", step=step(decided_by_name="Regiondirektör", decided_by_subject="Regiondirektören"))
    rendered = render(decided)
    assert "Regiondirektören har godkänt Enhetens verksamhetsplan" in rendered.text
