"""Question analysis: cleaning, language, sentences, lexicon and pinyin matching (pure, no model)."""

from __future__ import annotations

import json

import pytest

from assistant.search.query import (PinyinMatcher, clean, found_entries, language, lexicon_matches, lexicon_pairs, rewritten,
                                    searchable, split_sentences)
from assistant.search.cues import LexiconEntry
from assistant.search.cues import load_lexicon
from assistant.search.config import RetrievalConfig


def test_clean_caps_and_strips_controls():
    text, cut = clean("  谁管\x00流浪狗\u200b \n", 1000)
    assert text == "谁管 流浪狗" and not cut
    long, cut = clean("狗" * 5000, max_chars=1000)
    assert len(long) == 1000 and cut


def test_language():
    assert language("who handles stray dogs") == "en"
    assert language("谁管流浪狗") == "zh"
    assert language("who handles 宅基地 approval") == "mixed"


def test_searchable():
    assert not searchable("？？！!…")
    assert not searchable("🙂🙂")
    assert searchable("低保")


def test_split_sentences():
    message = "我是半截沟村的。娃娃今年该上学了，可是户口还没落。你们说这事哪达管！"
    assert split_sentences(message) == ["我是半截沟村的。", "娃娃今年该上学了，可是户口还没落。", "你们说这事哪达管！"]


def test_a_term_read_only_across_a_word_is_left_out():
    from assistant.search.segment import word_cuts

    lexicon = [LexiconEntry("修路", ("乡道",)), LexiconEntry("路灯", ("城市照明设施",)), LexiconEntry("领养", ("收养",)),
               LexiconEntry("养老金", ("社会保险",)), LexiconEntry("娃娃", ("儿童",)), LexiconEntry("娃不上学", ("控辍保学",)),
               LexiconEntry("流浪狗", ("流浪犬",)), LexiconEntry("狗", ("犬只",))]

    def read(text, cuts):
        return [e.everyday for e in found_entries(text, lexicon, cuts)]

    # 修路灯 is 修 + 路灯 (a lamp to mend), 领养老金 is 领 + 养老金 (drawing a pension): spans given as a segmenter cuts
    assert read("谁来修路灯", {0, 2, 3, 5}) == ["路灯"]
    assert read("我爸领养老金的", {0, 2, 3, 6, 7}) == ["养老金"]
    # without cuts every term found is read, as before
    assert read("谁来修路灯", None) == ["修路", "路灯"]
    # a longer term across a cut stays beside the shorter one; a term inside another stays
    assert read("娃娃不上学", {0, 2, 3, 5}) == ["娃娃", "娃不上学"]
    assert read("流浪狗咬人", {0, 3, 4, 5}) == ["流浪狗", "狗"]
    # and with jieba's own cuts
    assert read("村里路灯坏了谁来修路灯", word_cuts("村里路灯坏了谁来修路灯")[0]) == ["路灯"]
    assert lexicon_pairs("谁来修路灯", lexicon, {0, 2, 3, 5}) == [("路灯", "城市照明设施")]


def test_lexicon_matches_chinese_and_english_words():
    lexicon = [LexiconEntry("流浪狗", ("流浪犬",)), LexiconEntry("stray dog", ("流浪犬",)), LexiconEntry("dog", ("犬只",))]
    assert lexicon_matches("谁管流浪狗", lexicon) == ["流浪犬"]
    assert lexicon_matches("Who handles stray dogs?", lexicon) == ["流浪犬", "犬只"]
    assert lexicon_matches("hotdogs", lexicon) == []
    # the pairs behind them, for the answer's 按清单用语理解 line
    assert lexicon_pairs("Who handles stray dogs?", lexicon) == [("stray dog", "流浪犬"), ("dog", "犬只")]


def test_the_lexicon_reads_the_words_of_a_quarrel_and_the_homophone_typed_for_mediation():
    """调节 (to adjust) is what phone input offers first for 调解 (to mediate): five dev questions asked for it so
    (镇上能给调节一下不); 吵翻, 闹翻 are quarrels (sixteenth round, from dev_citizen12)."""
    lexicon = load_lexicon()
    for question in ("兄弟俩为老人留下的房子吵翻了 镇上能给调节一下不", "跟我哥闹翻了", "谁来调节"):
        assert "人民调解" in lexicon_matches(question, lexicon), question


def test_the_homophones_typed_for_dibao_reach_it_wherever_the_cutter_cuts():
    """底保 and 低宝 are what phone input offers for 低保; in 想申请个底保 jieba cuts 个底|保, so the pinyin correction never
    sees the word — the lexicon, which matches inside words, does (twenty-fourth round, from dev_citizen23)."""
    lexicon = load_lexicon()
    for question in ("家里困难 想申请个底保 找谁申请", "低宝去哪办"):
        assert "低保" in lexicon_matches(question, lexicon), question


def test_an_english_term_matches_with_a_hyphen_or_a_space_between_its_words():
    lexicon = [LexiconEntry("old age allowance", ("高龄津贴",)), LexiconEntry("e-bike", ("电动自行车",))]
    assert lexicon_matches("My dad is 85, who handles the old-age allowance?", lexicon) == ["高龄津贴"]
    assert lexicon_matches("old  age allowances", lexicon) == ["高龄津贴"]
    assert lexicon_matches("charging an e bike indoors", lexicon) == ["电动自行车"]
    assert lexicon_matches("an ebike", lexicon) == [] and lexicon_matches("bold age allowance", lexicon) == []
    assert rewritten("Who pays the old-age allowance?", lexicon) == "Who pays the 高龄津贴?"


def test_rewritten_puts_the_lists_word_in_place_of_the_everyday_one():
    lexicon = [LexiconEntry("新农合", ("基本医疗保险",)), LexiconEntry("农合", ("合作社",)),
               LexiconEntry("stray dog", ("流浪犬", "犬只"))]
    assert rewritten("新农合今年在哪交", lexicon) == "基本医疗保险今年在哪交"  # the longest term wins
    assert rewritten("新农合和新农合", lexicon) == "基本医疗保险和基本医疗保险"
    assert rewritten("Who catches stray dogs?", lexicon) == "Who catches 流浪犬?"
    assert rewritten("谁管流浪狗", lexicon) == "谁管流浪狗"  # nothing known: unchanged


def test_the_lexicons_words_are_words_to_the_cutter():
    """A word jieba lacks is cut up by its HMM and a piece of it may be taken for a typo (春防羊 was cut as one made-up
    word and 防羊 read as 放羊); the lexicon's words are added to the default retriever's cutter when it is built."""
    from assistant.search.segment import add_words, lexicon_cutter, segmenter, word_cuts

    text = "春防羊的免役谁组织"
    add_words({"春防"})
    cuts, made_up = word_cuts(text, cutter=lexicon_cutter())
    assert {0, 2, 3} <= cuts and all(span[1] - span[0] < 3 for span in made_up if span[0] == 0)
    before = lexicon_cutter().FREQ["免疫"]
    add_words({"免疫", "春防"})  # a known word keeps its frequency; adding twice changes nothing
    assert lexicon_cutter().FREQ["免疫"] == before
    assert not segmenter().dt.FREQ.get("春防")  # jieba's own dictionary (the route's) is left as it is


def test_lexicon_file_official_terms_are_list_wording(source_text):
    entries = load_lexicon()
    assert len(entries) >= 250
    missing = {t for e in entries for t in e.official if t not in source_text}
    assert not missing


@pytest.mark.parametrize("typo, word", [("低宝", "低保"), ("宅鸡地", "宅基地"), ("婚因", "婚姻")])
def test_pinyin_maps_typos_to_the_lists_words(typo, word):
    matcher = PinyinMatcher({"低保", "宅基地", "婚姻", "流浪犬"}, known={"谁管", "怎么"})
    assert word in matcher.corrections(f"村里{typo}怎么办")
    assert (typo, word) in matcher.correction_pairs(f"村里{typo}怎么办")  # the misspelt chunk and the list word


def test_corrected_puts_the_lists_word_in_place_of_the_typo():
    from assistant.search.query import corrected

    assert corrected("宅鸡地审批找谁", [("宅鸡地", "宅基地"), ("鸡地", "基地")]) == "宅基地审批找谁"  # longest first
    assert corrected("低宝和低宝", [("低宝", "低保")]) == "低保和低保"
    assert corrected("谁管流浪狗", []) == "谁管流浪狗"


def test_a_typo_across_the_cutters_boundaries_is_read_only_when_the_text_then_reads_better():
    matcher = PinyinMatcher({"疫苗", "各村"}, known={"打", "找谁", "有个", "村民"})
    # 打疫描找谁 cut 打疫|描找: the chunk 疫描 lies across a cut, inside words the cutter made up
    cuts, made_up = {0, 2, 4, 5}, [(0, 2), (2, 4)]
    fluency = {"打疫描找谁": -40.0, "打疫苗找谁": -27.0}.get
    assert matcher.correction_pairs("打疫描找谁", cuts, made_up, fluency) == [("疫描", "疫苗")]
    assert matcher.correction_pairs("打疫描找谁", cuts, made_up, None) == []  # across cuts: off
    assert matcher.correction_pairs("打疫描找谁", cuts, [], fluency) == []  # no made-up word there
    # 有个村民 → 有各村民 sounds the same but reads worse: left alone
    assert matcher.correction_pairs("有个村民", {0, 2, 4}, [(1, 3)], {"有个村民": -20.0, "有各村民": -21.0}.get) == []


def test_jiebas_fluency_prefers_the_corrected_text():
    from assistant.search.segment import fluency, word_cuts

    assert fluency("打疫苗找谁") - fluency("打疫描找谁") > 6
    assert fluency("有各村民") < fluency("有个村民")
    cuts, made_up = word_cuts("打疫描找谁", {"打", "找谁"})
    assert 0 in cuts and 5 in cuts and made_up  # the misspelt part is a word jieba made up


@pytest.mark.parametrize("text, word", [("高林补贴找谁", "高龄补贴"), ("养老经在哪领", "养老金"), ("土地流装合同", "土地流转"),
                                        ("微信群", None), ("来建", None)])
def test_pinyin_reads_a_near_sound_back_to_a_list_word_of_three_characters_or_more(text, word):
    """Front and back nasals (in/ing, en/eng, an/ang) sound alike in much of the north-west: 高林补贴 is 高龄补贴. Only
    for list words of three or four characters: two-character words have too many near sounds (微信 is not 微型)."""
    matcher = PinyinMatcher({"高龄补贴", "养老金", "土地流转", "微型", "来疆"}, known={"找谁", "在哪", "合同", "群"})
    assert matcher.corrections(text) == ([word] if word else [])


def test_pinyin_leaves_known_words_alone():
    matcher = PinyinMatcher({"低保"}, known={"低保", "地宝"})
    assert matcher.corrections("地宝") == []


def test_a_rare_noun_of_the_dictionary_may_be_a_typo_other_rare_words_may_not():
    """jieba's dictionary was counted from texts with their misspellings: a noun counted a handful of times (秸杆, 燥音,
    防讯) is read back to the list's word that sounds the same; a verb or phrase as rare (打到, 往上) stays a word."""
    from assistant.api import known_words

    strict, lenient = known_words(0), known_words(5)
    for typo in ("秸杆", "燥音", "防讯"):
        assert typo in strict and typo not in lenient
    for word in ("秸秆", "噪音", "防汛", "打到", "往上", "指到"):
        assert word in lenient
    matcher = PinyinMatcher({"秸秆", "达到"}, known=lenient)
    assert matcher.corrections("地头烧秸杆谁管") == ["秸秆"]
    assert matcher.corrections("补贴打到卡上了") == []


# words no-list-holds-this-fact cues may share with the list, because there they are incidental (how someone
# is contacted, a number on a form), not a topic a duty is about
INCIDENTAL_IN_THE_LIST = {
    "电话": "coop-37: 通过实地走访、电话联系等方式 (a way of contacting people)",
    "号码": "coop-95: 门牌号码 among the proof documents for a business licence",
    "联系方式": "coop-41: the donation recipient's 联系方式 made public",
}


def test_unanswerable_cues_name_no_topic_of_the_list():
    """A question about a topic the list covers (价格监督, 门牌编码) must not be pushed towards declining."""
    from assistant.data.store import load_duties
    from assistant.search.cues import load_question_cues

    cues = load_question_cues()
    texts = [t for d in load_duties() for t in (d.title, *(s.text for s in d.steps))]
    for pattern in (*cues.unanswerable, *cues.asks_fact, *cues.asks_other):
        found = [t for t in texts if pattern.search(t)]
        assert not found or pattern.pattern in INCIDENTAL_IN_THE_LIST, \
            f"cue {pattern.pattern!r} names list content: {found[0][:60]}"


@pytest.mark.parametrize("question", ["粮补今年一亩地能给到一百不", "灌溉水价是几毛钱一方", "高龄补贴发到几月份了",
                                      "退耕还林的钱是个啥标准", "宅基地审批多少天能批下来", "定点医院周几能鉴定",
                                      "民宿星级评选啥时候报名", "公租房租金一个月多少", "化肥哪家便宜",
                                      "When is the pension paid?", "how many days does the approval take"])
def test_questions_for_an_amount_or_a_date_are_recognised(question):
    """How much / when about a listed topic asks for a fact the list does not hold (the ninth round's cues: the
    interrogatives of amount and time, not a list of topics): a confidence feature of its own, `fact_question`."""
    from assistant.search.cues import load_question_cues

    assert load_question_cues().fact_question(question)


@pytest.mark.parametrize("question", ["好几年了也没人管", "这几天村里停水了找谁", "前几天家里着火了", "住院花了十几万能申请救助吗",
                                      "县民政局收回了多少事项", "低保怎么申请", "who handles stray dogs",
                                      "when my house flooded nobody came",
                                      # 好多钱 is "a lot of money", not 多少钱; 跟着来吗 asks whether people come along,
                                      # not whether a payment has come (sixteenth round, dev_citizen10)
                                      "娃娃住院花了好多钱 家里一下揭不开锅 有没有临时救助", "当初花了那么多钱",
                                      "消防队说要来查我们农家乐 镇上的人也跟着来吗"])
def test_background_numbers_and_times_are_not_taken_for_a_question_of_fact(question):
    from assistant.search.cues import load_question_cues

    cues = load_question_cues()
    assert cues.fact_question(question) == "" and cues.unlisted_fact(question) == ""


@pytest.mark.parametrize("question, asks", [("想要保险公司理赔员的电话", True), ("有没有兽医站的电话", True),
                                             ("给我回个电话", False), ("村干部通过电话联系我们", False)])
def test_a_phone_number_asked_for_is_a_fact_no_list_holds(question, asks):
    from assistant.search.cues import load_question_cues

    assert bool(load_question_cues().unlisted_fact(question)) == asks


@pytest.mark.parametrize("question, asks", [("今年的粮补几月份打到卡上", True), ("低保几月发", True),
                                             ("高龄津贴 多大岁数才能领", True), ("几岁能办老年证", True),
                                             ("How many mu of farmland does the town have?", True),
                                             ("What are the fees for a marriage certificate?", True),
                                             ("Unlicensed tutoring class charging fees. Who checks it?", False),
                                             ("我七十多岁了 低保咋申请", False), ("几月份的事了还没人管", False)])
def test_a_month_an_age_limit_or_a_count_asked_for_is_a_fact_no_list_holds(question, asks):
    """The thirteenth round's fact cues: in which month a payment comes, an age limit, English "how many"; a fee
    mentioned in passing is not one asked for."""
    from assistant.search.cues import load_question_cues

    assert bool(load_question_cues().unlisted_fact(question)) == asks


@pytest.mark.parametrize("question", ["明天下不下雨 要给麦子打药", "今天天气咋样", "后天有雪没", "明早零下几度",
                                      "will it rain tomorrow", "哪有卖种羊的", "镇上有修电视的没", "灭火器去哪买便宜",
                                      "where can I buy a water pump", "镇上哪有修手机的", "有卖化肥的吗",
                                      "你觉得我们镇长干得咋样", "窗口那个人态度差得很",
                                      "are you a robot", "奶奶高血压 吃啥药好", "娃感冒了喝什么药",
                                      "what medicine should my father take",
                                      # an opinion of a person (sixteenth round, from dev_citizen11)
                                      "新来的驻村干部 人好不好 靠不靠谱", "镇卫生院那个大夫医术咋样",
                                      "服务站那个小年轻说话太冲了 是不是嫌我们老兵麻烦",
                                      # a paper's wording or a template (nineteenth round, from dev_citizen17)
                                      "入党思想汇报咋写 有没有范文", "活动方案有模板没",
                                      "上次来检查消防的那个小伙子态度太凶了 我想投诉他本人"])
def test_questions_no_list_could_answer_by_their_kind_are_recognised(question):
    """A forecast, a shop, an opinion (the eleventh round's `asks_other`): a confidence feature of their own."""
    from assistant.search.cues import load_question_cues

    assert load_question_cues().other_question(question)


@pytest.mark.parametrize("question", ["渠坏了找哪个部门修", "你觉得这事该找谁", "前几天下大雨把路冲坏了找谁",
                                      "气象预警信息谁转发", "冰雹把庄稼打了能报灾不", "谁管流浪狗",
                                      "who repairs the irrigation canal", "农业保险在哪办", "路上有雪没人扫 谁管",
                                      "一下雨没法走", "有卖假种子的 谁管", "村里有修路的吗",
                                      "天气预报说有大风 镇上谁负责通知预警", "举报到镇上有用不", "来了个人说他们厂想推荐个劳模，问找谁",
                                      "有人上门说是统计局的 让我家天天记账 是真的不", "镇上到底管还是不管",
                                      "What is the procedure for reporting unpaid wages?",
                                      "Who checks the price of pork at the market?",
                                      "Who is responsible for protecting mobile phone towers?",
                                      "老人咋样申请高龄津贴", "病人怎么样才能申请医疗救助", "宅基地申请书交到哪"])
def test_listed_matters_are_not_taken_for_a_question_no_list_could_answer(question):
    from assistant.search.cues import load_question_cues

    assert load_question_cues().other_question(question) == ""


@pytest.mark.parametrize("question, strong", [
    # the fourteenth round's cues, written from a bank of phrasings (eval/cues/bank-a.jsonl), not from question sets
    ("一卡通里草原补奖的钱打了没有", "fact"), ("帮我查下我家的耕地地力补贴发没发", "fact"),
    ("交了俩月了 我家宅基地批下来没", "fact"), ("has my low income allowance application been approved yet", "fact"),
    ("老房子裂缝了 危房改造能补个几万不", "fact"), ("宅基地审批收不收费啊", "fact"), ("村里规定一户最多能养几条狗", "fact"),
    ("村委会换届选举是哪一年", "fact"), ("有没有包村干部的微信 我加一下", "fact"), ("镇上管宅基地的那个人姓啥", "fact"),
    ("家里几口人以上才能分户", "fact"), ("what's the minimum age for the old age allowance", "fact"),
    ("农业保险买高档的还是低档的好", "other"), ("我该不该加入合作社", "other"), ("长期护理保险有没有必要上", "other"),
    ("小麦种子哪个品种产量高 推荐一个", "other"), ("should I buy the higher grade of crop insurance", "other"),
    ("这几天有霜冻没 西红柿苗能栽不", "other"), ("电动车电瓶去哪换", "other"),
    ("短信说医保卡要升级 不升级就作废 是真的不", "other"), ("is this call a scam", "other"),
    # English (eval/cues/bank-d.jsonl)
    ("What's the fine for burning straw on your own field?", "fact"),
    ("Did the high-age allowance for October go out already?", "fact"),
    ("Could you give me the WeChat of the village animal epidemic prevention worker?", "fact"),
    ("Would it be wise to split our hukou so my son's family gets its own land?", "other"),
    ("Any frost expected next week before I plant potatoes?", "other"),
])
def test_questions_for_a_status_a_rule_number_or_advice_are_recognised(question, strong):
    """A payment's status, a fee, a rule's number, a year, a cadre's WeChat or name, an age line: facts (never
    answered as certain); which option is better, whether to, a recommendation, frost, where to change a battery,
    whether a text is genuine: kinds no list answers (a confidence feature)."""
    from assistant.search.cues import load_question_cues

    cues = load_question_cues()
    assert bool(cues.unlisted_fact(question)) == (strong == "fact")
    assert strong == "fact" or cues.other_question(question)


@pytest.mark.parametrize("question", ["找镇上还是找县上好", "这事找哪个部门好", "残疾证在哪换", "残疾证有效期到了 在哪换",
                                      "拖欠工资超过3个月 找谁", "80岁以上老人的高龄津贴找谁"])
def test_a_question_of_who_or_where_with_words_of_number_or_choice_trips_no_cue(question):
    """Which office to go to is what the list answers, even asked as a choice (找镇上还是找县上好) or beside a number
    told, not asked (超过3个月); renewing a listed certificate is not buying a battery."""
    from assistant.search.cues import load_question_cues

    cues = load_question_cues()
    assert cues.unlisted_fact(question) == "" and cues.other_question(question) == ""


def bank_controls(bank: str) -> list[str]:
    """The controls of a bank of phrasings (eval/cues/<bank>.jsonl: questions a duty answers), read as retrieval
    reads them: NFKC makes ，a plain comma and ？ a plain question mark."""
    from assistant.search.question_kind import load_banks
    from assistant.settings import current

    name = bank.removeprefix("bank-")
    rows = load_banks(current().eval / "cues", (name,))[name]
    return [clean(row["question"], RetrievalConfig().max_chars)[0] for row in rows if row["kind"] == "control"]


def test_the_check_bank_of_everyday_question_forms_holds_its_controls():
    """bank-l (a check bank, twenty-fourth round) asks in the forms unanswerable questions come in, with 80 controls in
    the same forms that ask who handles a matter (合理不合理先不说…去哪反映, 会不会发大水谁也说不准…归谁管); that no cue fires on
    them is checked with the other banks' controls below (since the twenty-fifth round's guards on the soft cues 该不该
    and 换成你, no cue of a kind no list answers either)."""
    assert len(bank_controls("bank-l")) == 80


@pytest.mark.parametrize("bank", ["bank-a", "bank-b", "bank-d", "bank-e", "bank-f", "bank-g", "bank-h", "bank-i", "bank-j",
                                  "bank-k", "bank-l", "bank-m", "bank-n"])
def test_questions_a_duty_answers_trip_no_cue_of_an_unanswerable_kind(bank):
    """The controls of each bank of phrasings (eval/cues/; bank-d and bank-e in English) are questions a duty answers, most with a tempting
    word (天气冷了 老人取暖有困难找谁; 有人老打电话骚扰我 举报找谁; 收了钱不办事去哪投诉): no fact cue and no cue of a kind
    no list answers may fire on them."""
    from assistant.search.cues import load_question_cues

    cues = load_question_cues()
    controls = bank_controls(bank)
    assert len(controls) >= 30
    tripped = [(q, cues.unlisted_fact(q) or cues.other_question(q)) for q in controls
               if cues.unlisted_fact(q) or cues.other_question(q)]
    assert not tripped, tripped


@pytest.mark.parametrize("question, advice", [
    ("上午打了疫苗 晚上能喝酒不", True), ("羊拉稀喂撒", True), ("灭火器咋用", True),
    ("我放羊的 老是发烧出汗 是不是布病", True), ("刚挤的羊奶不烧开直接喝 有害没有", True),
    ("Is it safe to drink the well water after the flood?", True), ("How do I fix a leaking gas valve?", True),
    # who acts, who is told, who teaches: what the list answers
    ("村里好几家娃娃拉肚子发烧 是不是传染病 谁往上报", False), ("镇上有没有人教那个自动除颤仪咋用", False),
    ("我们是低保户 墙都裂开了 镇上能帮着解决住房安全不", False), ("村里突然好多人发烧拉肚子 是不是啥传染病", False),
    ("Can someone show us how to use the new seed drill?", False), ("低保还能吃不", False),
])
def test_advice_on_what_to_do_oneself_is_a_kind_no_list_answers(question, advice):
    """bank-m's kinds (twenty-seventh round): a doctor's, a vet's, an agronomist's or a handyman's advice, and whether
    a thing is safe; not when the question also asks for someone to act, report to or teach, nor a listed safety."""
    from assistant.search.cues import load_question_cues

    assert bool(load_question_cues().other_question(clean(question, 2000)[0])) == advice


def test_unlisted_matter_cues_name_nothing_the_list_holds(registry):
    """A matter cue (结婚登记, 身份证 …) says the list does not hold the matter: it must match no duty text, and
    its hint (general knowledge, shown as not from the list) must name a county body or another real place."""
    from assistant.data.store import load_duties
    from assistant.search.cues import load_question_cues

    cues = load_question_cues()
    assert len(cues.unlisted_matters) >= 15
    texts = [t for d in load_duties() for t in (d.category, d.title, *(s.text for s in d.steps))]
    for pattern, hint, hint_en in cues.unlisted_matters:
        found = [t for t in texts if pattern.search(t)]
        assert not found, f"matter cue {pattern.pattern!r} names list content: {found[0][:60]}"
        assert hint and hint_en, f"matter cue {pattern.pattern!r} has no hint in both languages"


@pytest.mark.parametrize("question, matter", [
    ("离婚去哪办", "离婚"), ("村民要领结婚证", "领结婚"), ("身份证丢了怎么补办", "身份证"),
    ("how do I get a passport", "passport"), ("孩子高考分数啥时候能查", "高考分数"),
    ("个体户的税咋报", "税"), ("二手车过户去哪办", "二手车"), ("商品房的不动产权证在哪办", "不动产权证"),
    ("跟人撞车了 事故定责找谁", "事故定责"), ("想考个叉车操作证", "操作证"),
    # registering tenants with the police (twenty-eighth round, from dev_citizen27)
    ("房东得给租客登记 去镇政府还是派出所", "租客登记"), ("Do I have to register my tenants somewhere?", "register my tenants"),
    ("新房子要装电表 找谁", "装电"), ("有人偷电缆 电表也拆了 电表谁来装", "电表"),
])
def test_unlisted_matters_are_recognised(question, matter):
    from assistant.search.cues import load_question_cues

    assert matter in load_question_cues().unlisted_matter(question)[0]


@pytest.mark.parametrize("question", ["村民要开婚姻状况证明", "无户口人员落户", "谁管流浪狗", "高考报名资格审查找谁",
                                      # near the new cues, but on the list: farm insurance (coop-17), relief after
                                      # an accident (basic-30), fireworks licences (reclaimed-35), farm machinery
                                      # plates and inspection (reclaimed-5), the survey of who pays tax (reclaimed-12)
                                      "麦子被冰雹打了 保险公司咋理赔", "男人出车祸住院了家里没钱", "卖烟花爆竹要什么证",
                                      "拖拉机年检在哪", "有人问我店里交没交税", "失业登记在哪登记 外面打工的活没了",
                                      "外地人来摆摊卖烤包子 要登记吗 去哪登记",
                                      # a couple's quarrel brought for mediation (basic-39), divorce only its
                                      # background: the marriage cue's guard
                                      "两口子天天吵着要离婚 娃娃夹在中间可怜 村上能给调解不",
                                      # reading meters is only background to a stray dog (coop-19); wiring round a
                                      # meter is stealing power (coop-91), not a connection (twenty-ninth round)
                                      "我去抄电表，叫野狗把腿咬了，谁来抓", "有人绕过电表偷电 这个哪里说"])
def test_listed_matters_are_not_taken_for_unlisted_ones(question):
    from assistant.search.cues import load_question_cues

    assert load_question_cues().unlisted_matter(question)[0] == ""


@pytest.mark.parametrize("question", [
    "浇地的水费交给谁 镇上收还是水利局收", "春防的疫苗谁组织 兽医站还是镇上", "这个是咱镇上的活还是市场监管局的",
    "续包找谁审批？镇上还是林草局", "工伤认定找镇上还是人社局", "斗渠塌了 找水利局还是找镇上",
    "Does the town inspect small workshops for safety, or the county bureau?",
    "Who approves grassland contracts, the county bureau or the township?",
])
def test_a_question_between_the_town_and_a_county_body_is_recognised(question):
    from assistant.search.cues import load_question_cues

    assert load_question_cues().town_or_body(question)


@pytest.mark.parametrize("question", [
    "微型消防站现在还是镇上建吗",  # 还是 = still
    "乡村振兴局还是农业农村局管这个",  # two county bodies, not the town
    "城镇职工医保还是居民医保划算", "谁管流浪狗", "township office hours",
])
def test_other_questions_are_not_taken_for_a_choice_between_town_and_body(question):
    from assistant.search.cues import load_question_cues

    assert not load_question_cues().town_or_body(question)


def test_calibration_fits_without_the_cues_written_from_dev_questions():
    """A cue written to catch some dev questions would make them look easy to the confidence models fitted on
    those same questions; calibration leaves such cues out, answering uses them all."""
    from assistant.search.cues import load_question_cues

    cues = load_question_cues()
    fitting = cues.for_calibration()
    assert any(cues.from_dev) and not any(fitting.from_dev)
    assert len(fitting.unlisted_matters) == len(cues.unlisted_matters) - sum(cues.from_dev)
    assert cues.unlisted_matter("二手车过户去哪办")[0] and not fitting.unlisted_matter("二手车过户去哪办")[0]
    assert fitting.unlisted_matter("离婚去哪办")[0] == "离婚"  # the cues written from the list's structure stay
    # since the thirteenth round facts and kinds of question too (粮补几月份打到卡上; 吃啥药好)
    assert cues.unlisted_fact("今年的粮补几月份打到卡上") and not fitting.unlisted_fact("今年的粮补几月份打到卡上")
    # (a medicine asked in English is, since the twenty-seventh round, also a kind written from bank m: both catch it)
    template = "入党思想汇报咋写 有没有范文"
    assert cues.other_question(template) and not fitting.other_question(template)
    assert fitting.unlisted_fact("兽医站电话多少") and fitting.other_question("明天下不下雨")


def test_unknown_words_are_the_words_no_duty_or_similar_question_uses():
    """A confidence feature: 个人所得税 is a word of another office; a typo already read as a list word
    (宅鸡 of 宅鸡地) is not counted as unknown; a question without Chinese content words scores 0."""
    from assistant.search.lexical import LexicalScorer

    scorer = LexicalScorer(["负责本镇农村村民宅基地审批、农房建设管理", "文明养犬管理工作，收容流浪犬"])
    assert scorer.unknown_share("宅基地审批找谁") == 0.0
    assert scorer.unknown_share("个人所得税怎么退") == 1.0
    assert scorer.unknown_share("宅鸡地审批找谁") == 0.5
    assert scorer.unknown_share("宅鸡地审批找谁", read={"宅鸡地"}) == 0.0
    assert scorer.unknown_share("？？") == 0.0


@pytest.mark.parametrize("question, frame", [
    ("群众来问:娃结婚要分出去单过,想批块宅基地盖房,找谁", "群众来问:"),
    ("窗口来了个大爷,说老伴走了一个人过,想申请低保,找谁?", "窗口来了个大爷,说"),
    ("@所有人 帮我妈问下 她八十了 听说有高龄补贴 要去县上办吗", "@所有人 帮我妈问下 "),
    ("电话里有人问,环保局管镇上哪些事", "电话里有人问,"),
    ("村民问闺女要结婚了,结婚证在哪领", "村民问"),
    ("A villager asks: who handles stray dogs?", "A villager asks: "),
    # not a frame: who does something, a phrase that only starts like one, too little left
    ("有人在耕地里挖沙子往外卖,谁来管", ""), ("村民要开婚姻状况证明", ""), ("说实话我也不知道找谁", ""),
    ("问题是低保谁批", ""), ("老人说腿疼", ""), ("请问 低保", ""),
])
def test_the_frame_of_a_relayed_question_is_told_apart(question, frame):
    """Who passes a question on (群众来问：, 窗口来了个大爷，说) is not what it asks (data/question_cues.json `relay`)."""
    from assistant.search.cues import load_question_cues

    assert load_question_cues().relay_frame(question) == frame


def test_a_cue_object_without_its_pattern_is_a_clear_error(tmp_path):
    """A cue written as {"pattern": …, "from_dev": true} (thirteenth round) must name its pattern."""
    from assistant.errors import DataError
    from assistant.search.cues import load_question_cues

    path = tmp_path / "question_cues.json"
    path.write_text(json.dumps({"unanswerable": [{"from_dev": True}]}), encoding="utf-8")
    with pytest.raises(DataError, match="question_cues.json: not valid.*restore it with git"):
        load_question_cues(path)


def test_a_guarded_cue_leaves_alone_a_question_that_matches_its_guard(tmp_path):
    """{"pattern": …, "unless": name} (fourteenth round): the guard is written once in "guards"; a guard the file
    does not define is a clear error."""
    from assistant.errors import DataError
    from assistant.search.cues import load_question_cues

    path = tmp_path / "question_cues.json"
    path.write_text(json.dumps({"guards": {"asks_who": r".*\bwho\b"},
                                "unanswerable": [{"pattern": r"\bprice of\b", "unless": "asks_who"}]}), encoding="utf-8")
    cues = load_question_cues(path)
    assert cues.unlisted_fact("price of a grave plot?") and not cues.unlisted_fact("Who checks the price of pork?")
    path.write_text(json.dumps({"unanswerable": [{"pattern": "x", "unless": "nowhere"}]}), encoding="utf-8")
    with pytest.raises(DataError, match="question_cues.json: not valid.*nowhere"):
        load_question_cues(path)


def test_a_guarded_group_gives_its_guard_to_every_cue_that_names_none(tmp_path):
    """"guarded": {group: guard} (fifteenth round): every cue of the group without a guard of its own gets it; a cue
    that names its own guard keeps it; the cue's own words are what the match returns."""
    from assistant.search.cues import load_question_cues

    path = tmp_path / "question_cues.json"
    path.write_text(json.dumps({"guards": {"who_zh": ".*(谁审|找谁)", "who_en": r".*\bwho\b"},
                                "guarded": {"unanswerable": "who_zh"},
                                "unanswerable": ["批下来了?没", {"pattern": r"\bfee\b", "unless": "who_en"}]}),
                    encoding="utf-8")
    cues = load_question_cues(path)
    assert cues.unlisted_fact("临时救助批下来没有") == "批下来没"
    assert not cues.unlisted_fact("医疗救助批下来没有？谁审批的")
    assert cues.unlisted_fact("what fee 找谁") == "fee" and not cues.unlisted_fact("who sets the fee")


def test_a_group_may_be_guarded_by_several_guards(tmp_path):
    """"guarded": {group: [names]} (seventeenth round): the cue is left alone when any of the guards matches — the fact
    cues leave alone a question that also asks who handles the matter in Chinese and in English (Who runs the
    township's sports ground? Can kids use it at weekends?)."""
    from assistant.search.cues import load_question_cues

    path = tmp_path / "question_cues.json"
    path.write_text(json.dumps({"guards": {"who_zh": ".*(谁管|找谁)", "who_en": r".*\bwho\b"},
                                "guarded": {"unanswerable": ["who_zh", "who_en"]},
                                "unanswerable": ["weekend", "周末"]}), encoding="utf-8")
    cues = load_question_cues(path)
    assert cues.unlisted_fact("Is it open at the weekend?") == "weekend" and cues.unlisted_fact("周末开门不") == "周末"
    assert not cues.unlisted_fact("Who runs the sports ground? Can kids use it at weekends?")
    assert not cues.unlisted_fact("体育场谁管 周末能进不")



def test_a_guard_may_name_a_set_of_guards(tmp_path):
    """A guard of "guards" that is a list of names (twenty-eighth round: `advice_guards`) is a set written once: a cue
    naming it is left alone when any guard of the set matches, as if it had listed them."""
    from assistant.search.cues import load_question_cues

    path = tmp_path / "question_cues.json"
    path.write_text(json.dumps({"guards": {"who_zh": ".*(谁管|找谁)", "who_en": r".*\bwho\b", "who": ["who_zh", "who_en"]},
                                "asks_other": [{"pattern": "能喝酒不|drink", "unless": "who"}]}), encoding="utf-8")
    cues = load_question_cues(path)
    assert cues.other_question("打了疫苗能喝酒不") and cues.other_question("can I drink after the jab")
    assert not cues.other_question("打了疫苗能喝酒不 这事谁管") and not cues.other_question("who says I can drink")
    # a set may hold a set, and a cue's list may name a set beside single guards (twenty-ninth round: asks_who_guards)
    path.write_text(json.dumps({"guards": {"who_zh": ".*(谁管|找谁)", "who_en": r".*\bwho\b", "who": ["who_zh", "who_en"],
                                           "where": ".*哪里办", "asks": ["who", "where"]},
                                "asks_other": [{"pattern": "能喝酒不", "unless": "asks"},
                                               {"pattern": "drink", "unless": ["who", "where"]}]}), encoding="utf-8")
    cues = load_question_cues(path)
    for question in ("打了疫苗能喝酒不 这事谁管", "打了疫苗能喝酒不 哪里办", "who says I can drink", "drink 哪里办"):
        assert not cues.other_question(question), question
    assert cues.other_question("打了疫苗能喝酒不") and cues.other_question("can I drink after the jab")
    # a set that names itself is a damaged file, said as such
    from assistant.errors import DataError

    path.write_text(json.dumps({"guards": {"a": ["b"], "b": ["a"]}, "asks_other": [{"pattern": "x", "unless": "a"}]}),
                    encoding="utf-8")
    with pytest.raises(DataError, match="not valid"):
        load_question_cues(path)

def test_the_shipped_fact_cues_leave_alone_an_english_question_that_asks_who():
    from assistant.search.cues import load_question_cues

    cues = load_question_cues()
    assert cues.unlisted_fact("Is the township office open at the weekend?")
    assert not cues.unlisted_fact("Who runs the township's public sports ground? Can kids use it at weekends?")
    # which office oversees … asks who handles it as well (twenty-eighth round); which office is open does not
    assert not cues.unlisted_fact("A paid weekend English class for kids: which office oversees after-school tutoring?")
    assert cues.unlisted_fact("Which office is open at the weekend?")
    # going through the county is a route to choose, not an application that has gone through (twenty-ninth round)
    assert not cues.unlisted_fact("Does the township organise such training, or should we go through the county?")
    assert cues.unlisted_fact("Has my application gone through?")


@pytest.mark.parametrize("question, fact", [
    # a question that also asks who handles it or how to apply asks something the list answers (the label rule of
    # every question set): the precise fact cues leave it to the broader how-much/when feature
    ("医疗救助批下来没有？谁审批的", False), ("老汉住院花了好几万 医疗救助咋申请 要啥材料 能报多少", False),
    ("高龄津贴到账了没有 找谁查", False),
    # asking only for the fact, or who a person is, stays a fact
    ("临时救助 审批过了没有", True), ("宅基地审批收不收费啊", True), ("半截沟镇的镇长是谁啊", True),
    ("低保一个月能领多少钱", True), ("村里的河长是谁 电话给一个", True),
    # an amount in dispute brought for mediation asks for the mediation (basic-39; nineteenth round)
    ("游客骑马摔了 和马队老板赔多少谈不拢 镇上能给调解不", False), ("骑马摔了 马队老板该赔多少", True),
    ("土地纠纷调解一般要多少天", True),  # the word alone is no request for mediation
    # where to go, asked with 去 between (到哪去办) or with 那 typed for 哪 (twenty-ninth round, from dev_citizen24)
    ("牛羊那个政府给补一半的保险，今年还没上，到那去办？", False), ("政府给补一半的保险 到哪去办", False),
    ("保险政府给补一半吗", True),
])
def test_chinese_fact_cues_leave_alone_a_question_that_asks_who_or_how(question, fact):
    from assistant.search.cues import load_question_cues

    assert bool(load_question_cues().unlisted_fact(question)) is fact


@pytest.mark.parametrize("question, fact", [
    # told, not asked (nineteenth round): 没多少 is *not much*, 店关门了 *the shop has closed*
    ("爷爷奶奶就靠种点地，一年也没多少收入，能不能申请低保", False), ("家里没多少钱 看病咋申请救助", False),
    ("粮油应急供应网点的店关门了 要报给谁", False), ("理发店充了卡 结果店关门老板跑了 钱咋要回来", False),
    ("低保一个月给多少", True), ("一亩地补多少", True), ("便民服务中心几点关门", True), ("中午关门吗", True),
    # 礼拜一场冰雹 is a hailstorm last week; a phone number changed is a record to update
    ("上个礼拜一场冰雹把麦子打了 保险咋赔", False), ("礼拜一开门不", True),
    ("新农合参保信息在镇上能查不 手机号想改一下", False), ("换了手机号 医保要改吗", False), ("把村支书的手机号给我", True),
])
def test_a_fact_told_as_background_is_not_a_fact_asked(question, fact):
    from assistant.search.cues import load_question_cues

    cues = load_question_cues()
    assert bool(cues.unlisted_fact(question)) is fact
    if not fact:
        assert not cues.fact_question(question)


@pytest.mark.parametrize("question, unlisted", [
    # enlisting is no list's matter, but a soldier or a veteran in the family is told, not asked about (seventeenth
    # round): a military family asking for help, a veteran's care
    ("娃想去当兵 在哪报名", True), ("征兵体检啥时候", True), ("大学生参军，学费补偿咋申请", True),
    ("How do I sign up for the army?", True),
    ("娃在部队当兵 家里就剩我们老两口 麦子收不过来 镇上能帮一把不", False), ("我当过兵 退伍了 有啥优待", False),
    # moving a household registration is the police's; one already moved is background to another matter
    ("想把户口迁到乌鲁木齐 要啥手续", True), ("户口迁移证在哪开", True),
    ("奶奶户口迁到我们村了 新农和要在哪变更", False), ("问新农合参保信息要改 户口迁走的孙子咋变更", False),
    # moving one *into* the village is settling there (落户, coop-35: the village meets and the town signs)
    ("I want to move my hukou to Urumqi, what do I need?", True),
    ("How do I move my hukou back to my home village after graduation?", False),
    # a guard (nineteenth round): the matter is a listed one, the certificate or exam only its setting
    ("优秀村干部定向考公务员 镇上要推荐人吗", False), ("考公务员在哪报名", True),
    ("新农和今年参保 身份证号填错了 在哪改", False), ("身份证号错了去哪改", True),
    ("门面房没房产证 个体营业执照咋办", False), ("房产证在哪办", True),
    ("想离婚 可手里没钱请不起律师 有法律援助没", False), ("离婚去哪办", True),
    # a paper already in hand is told (twenty-sixth round); whether it is done, or not yet done, is asked
    ("媳妇在县医院生了个丫头，出生证拿上了。娃娃上户口是到镇政府办呢还是得去派出所？", False),
    ("死亡证明我已经开了。丧葬补助金去哪领", False), ("出生证在哪开", True), ("出生证明开了吗", True),
    ("出生证办了没有", True), ("村委会说居住证明不给开了，是不是有规定", True),
])
def test_an_unlisted_matter_told_as_background_is_not_what_is_asked(question, unlisted):
    from assistant.search.cues import load_question_cues

    assert bool(load_question_cues().unlisted_matter(question)[0]) is unlisted


@pytest.mark.parametrize("question, kind, asked", [
    # an eligibility line or conditions asked: facts no list holds (twentieth round) …
    ("我家四口人，一年到头收入也就两万来块，够不够低保的条件？", "fact", True),
    ("我们村今年要选村委会，我能不能报名当候选人？要啥条件？", "fact", True),
    # … unless the question also asks who handles it or where to apply
    ("低保要啥条件，去哪申请", "fact", False), ("想评星级农家乐，要啥条件，找谁报名", "fact", False),
    ("残疾人免费配助听器 我爹够不够条件 去哪达申请", "fact", False),
    # an opinion of who is in the right is asked of no list …
    ("隔壁两口子为分家产吵翻了，你说这事到底谁占理？", "other", True),
    ("谁对接村里的防疫", "other", False),  # 谁对接: who liaises
    # twenty-sixth round: an amount beside where to report the matter (the report is the list's); a brand asked, not
    # a signboard missing
    ("有人把我妈拉进群里卖保健品，说拉一个人进去返多少钱，我看像传销，去哪举报", "fact", False),
    ("后山坡上有挖机在挖沙子 也没见啥牌子手续 能管不 报给谁", "other", False), ("化肥买啥牌子的好", "other", True),
    # a phone that is a device is no phone number asked; the number asked without the word phone is one
    ("Bought a 'new' phone from a shop in town and the seller won't refund. Which office takes consumer complaints?",
     "fact", False), ("Setting up my grandpa's phone: who handles the pension check?", "fact", False),
    ("What's the phone number of the town police station?", "fact", True),
    ("What's the number for mountain rescue here?", "fact", True),
    # … and a reported case's progress is the police station's
    ("我去派出所报了案，现在立案了没有？", "matter", True),
    ("控辍保学劝不动家长，要立案处罚，材料移交哪个局", "matter", False),
    # the twenty-first round's cues, written from a bank of phrasings (eval/cues/bank-f.jsonl): whether a person
    # qualifies …
    ("窗口记：西地村一老汉问，他舅舅无儿无女七十一了，符不符合特困供养条件", "fact", True),
    ("巴郎子在乌鲁木齐打工一个月挣三千多，我们家还算不算低收入人口", "fact", True),
    ("残疾人两项补贴，我是三级肢体，护理补贴有没有我的份", "fact", True), ("公益性岗位有年龄限制没", "fact", True),
    ("Am I still eligible for dibao if I own a small car?", "fact", True),
    # … an opinion: fair, who is to blame, will I win, should I accept …
    ("村里收回我家承包地，这合理吗", "fact", True), ("他家狗把我娃咬了，这到底算谁的责任", "fact", True), ("我告他能赢不？", "fact", True),
    ("老板只肯给两千块了事，我要不要接受？", "fact", True), ("凭啥就罚我一个", "fact", True),
    # … how far one's own application or case has got
    ("建房审批走到哪一步了？开春就想动工", "fact", True), ("残疾证办好了没？", "fact", True), ("投诉的事有回音没", "fact", True),
    ("举报的烧秸秆 处理了木有", "fact", True), ("whats the status of my homestead application?", "fact", True),
    # and left alone where the question also asks who handles it, or only asks where to report
    ("低保申请办到哪一步了，找谁问", "fact", False), ("村干部让每户出钱修路，这合理吗，有没有人管一下", "fact", False),
    ("地界纠纷谁占理先不说，想知道去哪找人调解", "fact", False), ("亲戚拉我搞拉人头的项目 举报到哪", "fact", False),
    ("这个事镇上受理吗", "fact", False), ("我侄子跳河救了个小孩，能评见义勇为吗", "fact", False),
    # a clause's end is a plain comma once the question is cleaned (NFKC): 批了没有，我等着用 is asked like 批了没有
    ("低保批了没有，我等着用钱", "fact", True),
    # a long question read whole (one matter) keeps its facts told or asked beside a question of who handles it:
    # 谁监管 / 谁在办, 管不管, the town or a county body, which formalities
    ("每户摊多少钱、出几个工，这种事镇上谁监管？", "fact", False), ("这个钱到底啥时候发，是镇上发还是民政局发", "fact", False),
    ("狗也不知道打没打过疫苗，你们到底管不管？", "fact", False), ("到底要走哪些手续，要等多久", "fact", False),
    # a rumour of a change checked (written after citizen16's run, from_dev) — but not one of who handles a matter
    ("听说明年新农合要取消了 真的假的", "fact", True), ("听说婚姻状况证明镇上不开了 真的吗 那去哪开", "fact", False),
    ("摆酒席听说得先到镇上登记一下，真的假的？", "fact", False), ("公租房申请交上去两个月了，排到我没有？", "fact", True),
    # the twenty-second round's cues, written from a bank of phrasings (eval/cues/bank-i.jsonl): a rumour checked …
    ("群里都在传低保明年要取消 是不是真的", "fact", True), ("邻居说草场补奖以后不给了，有这回事没", "fact", True),
    ("Is it true the town will charge a garbage fee?", "fact", True),
    # … but not a visit or a call to be checked (a listed survey; a scam is a kind of its own), a rule the village
    # announced, or a procedure asked for
    ("有人上门说是统计局调查队的，让我家记账，是真的吗", "fact", False), ("村上说旧地膜不捡要罚款 真的假的", "fact", False),
    ("短信说点链接就能领补贴 是真的吗", "fact", False), ("听说办大席要报备，是真的吗，报给谁", "fact", False),
    # … what will happen to a benefit, a rule or a project …
    ("高龄津贴以后会不会涨", "fact", True), ("明年种地补贴还有没有", "fact", True), ("自来水啥时候能通到我们村", "fact", True),
    ("Will the grassland subsidy still be paid next year?", "fact", True), ("以后放羊要办啥手续，找哪里", "fact", False),
    # … what a notice's or a form's words mean (not what the town does about the thing named)
    ("通知上说的动态监测是啥意思", "fact", True), ("特困和低保有啥区别", "fact", True),
    ("低保申请表上家庭成员那栏咋填", "fact", True), ("卫片图斑是啥意思 镇上要干啥", "fact", False),
    # and, from dev_citizen21 (from_dev): an age told and whether one can get it, a payment asked with its card …
    ("我妈今年八十一了，高龄津贴能不能领", "fact", True), ("补贴到底打到一卡通里没有", "fact", True),
    ("粮补打到一卡通上没有 到哪查", "fact", False),
    # … and matters of other offices: a lost card, a graduate's own file, a fraud, an environmental assessment
    ("一卡通的卡丢了 去哪补", "matter", True), ("毕业时档案自己拿回家拆开了 咋办", "matter", True),
    ("网上被骗了两万块 钱能追回来不", "matter", True), ("办养殖场要做环评 去哪办", "matter", True),
    ("一卡通丢了换了张新卡，补贴往哪张卡上打，找谁改", "matter", False), ("老人老被骗钱，防诈骗宣传谁负责", "matter", False),
    # the twenty-fourth round (from dev_citizen23): a word not understood, then a plea for the town's free help, asks
    # for a service a duty names (basic-33), not what the words mean
    ("安置协议有好几条看不懂", "fact", True),
    ("安置协议有好几条看不懂，想找个懂法律的人帮着看看，镇上有没有不要钱的法律咨询？", "fact", False),
    # … and after citizen19's run (from_dev): an opinion asked as 合理不合理, advice asked of the clerk (你说我要不要),
    # a flood forecast — but not a question of who handles the fine
    ("这个钱罚得合理不合理？", "fact", True), ("罚款合理不合理先不说，想知道找谁申诉", "fact", False),
    ("你说我要不要再往深里打二十米？", "other", True), ("今年开春会不会发大水？雪比去年大。", "other", True),
    # the twenty-fifth round (bank l): one's own case — whether it went through, why it was refused (from_dev) …
    ("我的临时救助为啥被拒了", "fact", True), ("宅基地申请报上去三个月了，咋还没动静", "fact", True),
    ("高龄津贴公示名单里有没有我爸的名字", "fact", True),
    # … but not who approves it or whether the town has the power to
    ("医疗救助批下来没有？谁审批的", "fact", False), ("临时救助为啥没批？咱镇上到底有没有审批权", "fact", False),
    # … and the older soft cues of advice leave alone a question that also asks who handles it
    ("这事你说该不该去闹？", "other", True), ("邻居家娃初二就不上学了，你说该不该管？谁来管", "other", False),
    ("换成你，邻居占了你家林地的地界，你找谁来处理", "other", False),
    # … and, after citizen20's run (from_dev), eligibility asked as 够不够评 / 能不能评上 — not how one gets rated
    ("表哥救了落水的娃，这种够不够评见义勇为", "fact", True), ("我这情况能不能评上低保？", "fact", True),
    ("村里评星级文明户是谁在搞，咋个能评上", "fact", False),
])
def test_eligibility_opinions_and_a_cases_progress(question, kind, asked):
    """Never answered as certain (a fact) or read as a kind no list answers: the list says who takes an application
    and who mediates, never whether someone qualifies, who is right, how far one's own case has got, whether a rumour
    is true, what will happen next year or what a notice's words mean."""
    from assistant.search.cues import load_question_cues
    from assistant.search.query import clean

    cues = load_question_cues()
    text, _ = clean(question, 1000)  # as retrieval reads it: ，→ , and ？→ ?
    found = {"fact": cues.unlisted_fact, "other": cues.other_question,
             "matter": lambda q: cues.unlisted_matter(q)[0]}[kind](text)
    assert bool(found) == asked, found


def test_cue_diff_lists_the_stored_questions_a_cue_change_reads_differently():
    """eval/cue_diff.py: the check run before committing a cue change."""
    import importlib.util
    from pathlib import Path

    from assistant.search.cues import QuestionCues

    path = Path(__file__).resolve().parents[2] / "eval" / "cue_diff.py"
    spec = importlib.util.spec_from_file_location("cue_diff", path)
    cue_diff = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cue_diff)
    old = QuestionCues.from_json({"unanswerable": ["电话"]})
    new = QuestionCues.from_json({"unanswerable": ["电话", "够不够[^,?]{0,6}条件"]})
    questions = [cue_diff.Stored("a:1", "够不够低保的条件？", False), cue_diff.Stored("a:2", "镇上电话多少", False),
                 cue_diff.Stored("a:3", "低保找谁申请", True)]
    changed = cue_diff.differences(old, new, questions)
    assert [(q.where, before, after) for q, before, after in changed] == [("a:1", ("", "", "", ""), ("够不够低保的条件", "", "", ""))]
    # the soft how-much / when cues are read too
    soft = QuestionCues.from_json({"asks_fact": ["多久"]})
    changed = cue_diff.differences(old, soft, [cue_diff.Stored("a:4", "批下来要多久", False)])
    assert [after for _, _, after in changed] == [("", "", "", "多久")]
    assert any(q.where.startswith("similar:") for q in cue_diff.stored_questions())
