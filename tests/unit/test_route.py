"""The route for Uyghur and Kazakh questions without the real model: script detection, Kazakh töte → Cyrillic,
the route lexicon and its data file, the label glossary, and a routed search over a fake model."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from assistant.glossary import LANGUAGES, SEPARATOR, beside, load_glossary
from assistant.labels import LABELS, labels_for
from assistant.search.config import RetrievalConfig
from assistant.search.cues import load_question_cues
from assistant.search.route import (ROUTED, Route, RouteLexicon, RouteTerm, load_route_lexicon, prepare,
                                    route_config)
from assistant.search.scripts import kazakh_to_cyrillic, language, normalise_arabic
from assistant.settings import current

from tests.unit.fakes import tiny_retriever


@pytest.fixture(scope="module")
def lexicon():
    return RouteLexicon(load_route_lexicon(current().route_lexicon))


# -- which language -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, lang", [
    ("ئىگىسىز ئىتلار كۆپىيىپ كەتتى، بۇنى كىم باشقۇرىدۇ؟", "ug"),  # ئ, ې-free but hamza seats: Uyghur
    ("مېيىپلىك گۇۋاھنامىسىنى قانداق ئالىمەن؟", "ug"),
    ("ٴۇي سالاتىن جەرگە رۇقسات الۋ", "kk-Arab"),  # high hamza, bare initial vowel, infinitive -ۋ: Kazakh töte
    ("نەكە جاعدايى تۋرالى انىقتاما قايدان الىنادى؟", "kk-Arab"),  # ع
    ("Иесіз иттер көбейіп кетті, кім жауап береді?", "kk"),  # і, ө: Kazakh Cyrillic
    ("Кто занимается бездомными собаками?", "ru"),
    ("谁管流浪狗", None),
    ("who handles stray dogs", None),
    ("ئۆي سېلىش 盖房子审批", None),  # a Chinese word in it: the default model reads that
    ("123 ？", None),
    ("", None),
])
def test_language(text, lang):
    assert language(text) == lang


def test_persian_keyboard_letters_are_the_uyghur_ones():
    assert normalise_arabic("کالا") == "كالا" and normalise_arabic("مه") == "مە"


@pytest.mark.parametrize("arabic, cyrillic", [
    ("ٴۇي", "үй"),  # hamza: front vowels
    ("قيىن", "қиын"),  # ي after a consonant: и
    ("تولەيمىن", "төлеймін"),  # ە makes the word front; ي after a vowel: й
    ("الەۋمەتتىك ساقتاندىرۋ", "алеуметтік сақтандыру"),  # ә without hamza is not told from а (folded when matching)
    ("جاۋاپ؟", "жауап?"),
])
def test_kazakh_tote_to_cyrillic(arabic, cyrillic):
    assert kazakh_to_cyrillic(arabic) == cyrillic


# -- the route lexicon ------------------------------------------------------------------------------------------

def test_terms_match_at_a_word_start_with_suffixes(lexicon):
    assert "流浪犬" in lexicon.official("ئىتلار كۆپىيىپ كەتتى", "ug")
    assert "流浪犬" in lexicon.official("Иесіз иттер көбейіп кетті", "kk")


def test_a_whole_word_term_is_not_the_start_of_another_word(lexicon):
    assert "犬只" not in lexicon.official("مىللەتلەر ئىتتىپاقلىقى", "ug")  # ئىتتىپاق "unity" is not ئىت "dog"
    assert "民族团结" in lexicon.official("مىللەتلەر ئىتتىپاقلىقى", "ug")


def test_uyghur_final_vowel_is_raised_before_a_suffix(lexicon):
    assert "出生医学证明" in lexicon.official("تۇغۇلۇش گۇۋاھنامىسى ئالماقچى", "ug")  # گۇۋاھنامە → گۇۋاھنامىسى


def test_insurance_is_not_irrigation(lexicon):
    words = lexicon.official("كۈتۈنۈش سۇغۇرتىسى", "ug")  # سۇغۇرتا insurance, سۇغۇرۇش to irrigate
    assert "社会保险" in words and "灌溉用水" not in words


def test_kazakh_vowel_pairs_are_folded(lexicon):
    assert "农民专业合作社" in lexicon.official(kazakh_to_cyrillic("كووپەراتيۆ قۇرعىم كەلەدى"), "kk")  # көөператив


def test_prepare_appends_the_lists_words(lexicon):
    text = prepare("ٴۇي سالاتىن جەرگە رۇقسات الۋ", "kk-Arab", lexicon)
    assert text.startswith("үй салатын") and "宅基地" in text
    assert prepare("ئەتە ھاۋارايى قانداق بولىدۇ؟", "ug", lexicon) == "ئەتە ھاۋارايى قانداق بولىدۇ؟"


def test_route_lexicon_words_are_the_lists_words_or_matters_no_list_holds(duties):
    """Every official word is found in the list's text, or is what a hand-kept cue of a matter or fact no list
    holds matches (so a routed question about a passport is declined like a Chinese one), or an interrogative of
    amount or time the how-much/when cues read (since the seventeenth round: قانچە → 多少, қашан → 什么时候)."""
    text = "\n".join(part for d in duties for part in (d.category, d.title, *(s.text for s in d.steps)))
    cues = load_question_cues()
    patterns = [p for p, _, _ in cues.unlisted_matters] + list(cues.unanswerable) + list(cues.asks_fact)
    for term in load_route_lexicon(current().route_lexicon):
        for word in term.official:
            assert word in text or any(p.search(word) for p in patterns), (term.term, word)


def test_route_lexicon_damage_names_the_row(tmp_path):
    from assistant.errors import DataError

    bad = tmp_path / "lexicon.tsv"
    bad.write_text("lang\tterm\tofficial\tsource\nxx\tئىت\t犬只\tx\n", encoding="utf-8")
    with pytest.raises(DataError, match="row 2"):
        load_route_lexicon(bad)


# -- the label glossary -------------------------------------------------------------------------------------------

def test_glossary_rows_are_labels_with_the_same_chinese():
    glossary = load_glossary(current().glossary)
    for key, row in glossary.items():
        assert LABELS["zh"][key] == row["zh"], key
        wanted = set(re.findall(r"{\w+}", row["zh"]))
        for lang in LANGUAGES:
            assert set(re.findall(r"{\w+}", row[lang])) <= wanted, (key, lang)  # no placeholder the code lacks


@pytest.mark.parametrize("lang", LANGUAGES)
def test_labels_beside_chinese(lang):
    labels = labels_for(lang)
    assert labels["basic"].startswith("本镇负责" + SEPARATOR)
    assert labels["reclaimed"].format(receiver="县民政局").startswith("本镇已不再承担，请到县民政局办理")
    assert labels["tier_answer"] != LABELS["zh"]["tier_answer"]
    assert labels["category"] == LABELS["zh"]["category"]  # not in the glossary: Chinese only
    assert labels_for("zh") is LABELS["zh"] and labels_for("en") is LABELS["en"]


def test_beside_keeps_labels_the_glossary_lacks():
    labels = beside({"basic": "本镇负责", "other": "其他"}, "ug", {"basic": {"zh": "本镇负责", "ug": "بازار"}})
    assert labels == {"basic": "本镇负责 / \u2068بازار\u2069", "other": "其他"}


# -- a routed search (fake model) ---------------------------------------------------------------------------------

def test_route_search_keeps_the_question_and_says_its_language(duties, registry, lexicon):
    retriever = tiny_retriever(duties, registry, {"coop-19", "basic-84", "reclaimed-2"},
                               config=route_config(RetrievalConfig(), "fake"))
    route = Route(SimpleNamespace(retriever=retriever, config=retriever.config), lexicon)
    question = "ئىگىسىز ئىتلار كۆپىيىپ كەتتى"
    assert route.language(question) == "ug" and route.language("谁管流浪狗") is None
    result = route.search(question)
    assert result.query.question == question and result.query.lang == "ug"
    assert result.hits[0].duty.id == "coop-19"  # the lexicon's 流浪犬 meets the duty's own words


def test_route_search_refuses_other_languages(duties, registry, lexicon):
    from assistant.errors import QuestionError

    retriever = tiny_retriever(duties, registry, {"coop-19"})
    with pytest.raises(QuestionError):
        Route(SimpleNamespace(retriever=retriever, config=retriever.config), lexicon).search("谁管流浪狗")


def test_russian_stays_with_the_default_model():
    assert "ru" not in ROUTED


def test_the_routes_index_leaves_out_relayed_neighbour_group_and_setting_questions(duties, registry):
    from assistant.api import Data, lexical_documents, make_units
    from assistant.search.route import route_config

    duty = duties[0].id
    data = Data(duties=duties, registry=registry, lexicon=[], cues=None,
                similar={duty: ["谁管这个", "窗口来了个大姐，说她家的事该找谁", "村里集体的事归谁", "放羊的时候看见的事归谁"]},
                similar_sources={"谁管这个": "", "窗口来了个大姐，说她家的事该找谁": "zh_relay",
                                 "村里集体的事归谁": "neighbour_group", "放羊的时候看见的事归谁": "setting"})
    shipped, route = RetrievalConfig(), route_config(RetrievalConfig(), "e5-small")
    texts = lambda config: [u.text for u in make_units(data, config) if u.kind == "question"]
    assert texts(shipped) == ["谁管这个", "窗口来了个大姐，说她家的事该找谁", "村里集体的事归谁", "放羊的时候看见的事归谁"]
    assert texts(route) == ["谁管这个"]
    assert "窗口来了个大姐" not in lexical_documents(data, route)[0]
    assert "村里集体的事归谁" not in lexical_documents(data, route)[0]
    assert "窗口来了个大姐" in lexical_documents(data, shipped)[0]
    assert not [u for u in make_units(data, route.with_(question_units=False)) if u.kind == "question"]


def test_the_routes_skipped_sources_keep_its_folder_and_change_its_inputs(tmp_path):
    from assistant.api import config_index_dir, unit_settings_hash
    from assistant.search.route import route_config

    route = route_config(RetrievalConfig(), "e5-small")
    # one folder per model (doctor, the build and the server look there) …
    assert config_index_dir(route, "e5-small", tmp_path) == config_index_dir(RetrievalConfig(), "e5-small", tmp_path)
    # … but the sources it leaves out are part of what its index was built with: a change rebuilds it
    assert unit_settings_hash(route) != unit_settings_hash(route.with_(question_sources_skipped=()))
    assert unit_settings_hash(route) == unit_settings_hash(route.with_(pinyin=True))


def test_skipped_sources_from_a_config_file(tmp_path):
    from assistant.errors import SettingsError

    path = tmp_path / "config.json"
    path.write_text('{"question_sources_skipped": ["zh_relay"]}', encoding="utf-8")
    assert RetrievalConfig.load(path).question_sources_skipped == ("zh_relay",)
    with pytest.raises(SettingsError, match="list of strings"):
        RetrievalConfig().with_(question_sources_skipped="zh_relay")


@pytest.mark.parametrize("key, value, says", [("companion_depth", "ten", "must be a number"),
                                              ("unlisted_part_apart", "yes", "must be true or false"),
                                              ("companion_depth", -3, "must be 0 or more"),
                                              ("k", -1, "must be 0 or more")])
def test_a_config_value_of_the_wrong_kind_or_a_negative_count_is_refused(tmp_path, key, value, says):
    """A config file's value is checked before anything loads: its kind, and a count or a depth is never negative
    (companion_depth -3 would read the message's ranking to all but its last three duties)."""
    import json

    from assistant.errors import SettingsError

    path = tmp_path / "config.json"
    path.write_text(json.dumps({key: value}), encoding="utf-8")
    with pytest.raises(SettingsError, match=f"config key {key} {says}"):
        RetrievalConfig.load(path)
