"""The word tables as the engine reads them."""

from __future__ import annotations

import pytest

from assistant.lexicon import default_lexicon


@pytest.mark.parametrize(
    ("name", "demonym"),
    [
        ("American", True),
        ("Ukrainians", True),
        ("British", True),
        ("Russia", False),
        ("Moscow", False),  # a capital standing for its government
        ("Iran", False),  # a country whose name ends like a demonym
        ("US", False),
    ],
)
def test_a_demonym_is_told_from_the_name_of_its_country(name: str, demonym: bool) -> None:
    assert default_lexicon().is_demonym(name) is demonym


def test_a_capital_standing_for_its_government_finds_the_country(assistant) -> None:  # type: ignore[no-untyped-def]
    """The passage about the assets says "Russia", never "Moscow"; asked about Kyiv as a
    city, the articles have nothing, whatever they say about Ukraine."""
    answer = assistant.ask("Where is Moscow's frozen money held?")
    assert not answer.refused
    assert "Euroclear" in answer.text
    assert assistant.ask("What is the population of Kyiv?").refused


@pytest.mark.parametrize("question", ["whats the capital of canada", "What's the weather in Kyiv?"])
def test_a_question_about_a_place_as_such_gets_a_plain_decline(assistant, question: str) -> None:  # type: ignore[no-untyped-def]
    """Not passages that merely say "capital": the articles never speak of the place."""
    answer = assistant.ask(question)
    assert answer.refused and not answer.related, [c.quote for c in answer.related]


def _groups_of(text: str, word: str) -> set[str]:
    lexicon = default_lexicon()
    token = next(t for t in lexicon.tokens(text) if t.raw == word)
    return {c for c in token.concepts if c.startswith("~")}


@pytest.mark.parametrize(
    ("text", "verb", "particle"),
    [
        ("the soldiers pulled back", "pulled", "back"),
        ("pulling the troops back", "pulling", "back"),
        ("would they give any land back", "give", "back"),
        ("she handed the keys over", "handed", "over"),
    ],
)
def test_a_phrasal_verb_is_read_inflected_and_split_by_its_object(
    text: str, verb: str, particle: str
) -> None:
    """The synonym table's "pull back", "give back", "hand over" in the forms readers use."""
    shared = _groups_of(text, verb) & _groups_of(text, particle)
    assert shared, (text, _groups_of(text, verb), _groups_of(text, particle))


@pytest.mark.parametrize(
    ("text", "first", "phrase"),
    [
        ("the council said yes on Monday", "said", "say yes"),
        ("they are saying yes", "saying", "say yes"),
        ("the unions signed off on it", "signed", "sign off on"),
        ("they went along with the levy", "went", "go along with"),
    ],
)
def test_a_phrase_of_the_synonym_table_is_read_with_its_first_word_inflected(
    text: str, first: str, phrase: str
) -> None:
    """ "said yes" is the table's "say yes", as "pulled back" is "pull back"."""
    group = {c for t in default_lexicon().tokens(phrase) for c in t.concepts if c.startswith("~")}
    assert _groups_of(text, first) & group, (text, _groups_of(text, first))


@pytest.mark.parametrize(
    ("text", "verb"),
    [
        ("they gave, and the money came back", "gave"),  # not "give back" across a clause
        ("they pulled the very long and heavy rope back", "pulled"),  # too far apart
    ],
)
def test_a_phrasal_verb_is_not_read_across_a_clause_or_far_apart(text: str, verb: str) -> None:
    assert not _groups_of(text, verb) & _groups_of(text, "back")


def test_a_phrasal_verb_said_in_other_words_finds_the_answer(assistant) -> None:  # type: ignore[no-untyped-def]
    """ "give some territory back" is the article's "relinquishing areas" (give back:
    relinquish): the answer was a sentence about Russia being "brought back" from isolation."""
    answer = assistant.ask("Would Russia have to give some territory back?")
    assert not answer.refused, answer.text
    assert "relinquish" in answer.citations[0].quote, [c.quote for c in answer.citations]


@pytest.mark.parametrize(
    ("reader", "article"),
    [
        ("it looks like the minerals deal", "reminiscent"),
        ("an arrangement", "agreement"),
        ("they always insisted", "consistently"),
        ("a vote soon", "snap"),
        ("on tv and in the newspapers", "media"),
        ("an idea the council knocked back", "pushback"),
        ("the deeper reasons for the strike", "causes"),
        ("how the plan tackles it", "handles"),
        ("they keep banging on about it", "demanded"),
        ("tariffs peeled back", "lifting"),
        ("the club booted them", "ejected"),
        ("an atom bomb", "nuclear"),
    ],
)
def test_a_readers_word_shares_a_meaning_with_the_articles(reader: str, article: str) -> None:
    lexicon = default_lexicon()
    said = {c for t in lexicon.tokens(reader) for c in t.concepts if c.startswith("~")}
    assert said & _groups_of(article, article)


def test_every_phrase_of_the_tables_is_recognised_in_a_sentence() -> None:
    """Each alias (as cased in the table, and in lower case unless only capitals name it)
    stands for its entity, and each synonym phrase for its group, inside a sentence: the
    quick test that skips phrases whose words a text lacks must never skip a present one."""
    lexicon = default_lexicon()
    missed = []
    for member, group in [(m, g) for g, ms in lexicon.aliases.items() for m in ms]:
        forms = [member] if member.replace(".", "").isupper() else [member, member.lower()]
        for form in forms:
            tokens = lexicon.tokens(f"Reports say {form} agreed.")
            if not any(f"@{group}" in t.concepts for t in tokens):
                missed.append(form)
    for label, members in lexicon.groups.items():
        for member in members:
            if " " in member or "-" in member:
                tokens = lexicon.tokens(f"Reports say {member.upper()} happened.")
                taken = any(t.entity for t in tokens)  # "alliance of ...": NATO's alias first
                if not taken and not any(label in t.concepts for t in tokens):
                    missed.append(member)
    assert not missed


def test_places_typed_in_lower_case_are_found_as_whole_words() -> None:
    lexicon = default_lexicon()
    assert lexicon.places_in_lower_case("troops based in belarus, or north korea?") == [
        "belarus",
        "north korea",
    ]
    assert lexicon.places_in_lower_case("a romantic chinaware shop") == []


def test_a_word_has_the_members_of_the_phrases_it_is_part_of() -> None:
    """ "pull" in "pull out" stands for "withdraw"; a word alone ("won", a member of the
    "gains" group) is left to the word's own groups, since a single word is ambiguous."""
    members = default_lexicon().phrase_members("Who would foot the bill if troops pull out?")
    assert "pay" in members["bill"]
    assert "withdraw" in members["pull"]
    assert "troop" not in members  # a word of a group, not of a phrase
    assert default_lexicon().phrase_members("who won the final?") == {}


@pytest.mark.parametrize(
    ("reader", "article"),
    [
        ("its home-made drones", "home-grown systems"),
        ("long distance missiles", "long-range weapons"),
    ],
)
def test_a_readers_hyphenated_word_shares_a_meaning_with_the_articles(
    reader: str, article: str
) -> None:
    lexicon = default_lexicon()

    def groups(text: str) -> set[str]:
        return {c for t in lexicon.tokens(text) for c in t.concepts if c.startswith("~")}

    assert groups(reader) & groups(article) - groups(article.split()[-1])


def test_the_g7_is_known_by_its_description_as_a_club_of_rich_nations() -> None:
    lexicon = default_lexicon()
    said = {
        t.entity for t in lexicon.tokens("when was russia booted from the rich countries' club?")
    }
    assert "g7" in said
