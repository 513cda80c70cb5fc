"""The engine's own questions about the demo article, kept out of qa/data/questions.jsonl (a test checks):
answers and their passages, short answers, near misses and off-topic English."""

# (question, a gold substring of the answer passage)
OWN_QUESTIONS = [
    ("山西2021年的煤炭产量有多少亿吨？", "11.9亿吨"),
    ("净输出电量是多少亿千瓦时？", "1234.7亿千瓦时"),
    ("第一批重复信访事项的化解率是多少", "97.52%"),
    ("汾河秋汛时转移安置了多少群众", "16.34万人"),
    ("2021年全省煤矿死亡事故有几起？", "死亡事故8起"),
    ("去年大气优良天数比例达到多少？", "72.1%"),
    ("生态环保督察问题整改的办结率", "办结率达99%"),
    ("习近平总书记五年来第几次到山西考察？", "第三次到山西考察"),
    ("山西为什么说要当好首都护城河？", "毗邻京畿"),
    ("What was the coal output of Shanxi province in the year 2021?", "11.9亿吨"),
    ("What was the average PM2.5 concentration in Shanxi last year?", "39微克"),
    ("How many people were relocated during the autumn floods of the Fen River?", "16.34万人"),
]


SHORT_QUESTIONS = [
    ("山西2021年的净输出电量有多少亿千瓦时？", "1234.7亿千瓦时"),
    ("2021年全省煤矿死亡事故导致多少人死亡？", "11人"),
    ("第一批重复信访事项的化解率达到多少？", "97.52%"),
    ("山西重点培育了几条产业链？", "10条"),
]
NEAR_MISSES = [
    "秋汛期间一共有多少人受伤？",                # injuries: the article counts the evacuated
    "全省重点培育的产业链有多少家龙头企业？",      # companies (家): the article counts chains (条)
    "2021年全国煤矿事故死了多少人？",            # national: the article gives the province's figure
    "去年山西PM2.5日均浓度最高达到多少？",        # the article gives the yearly average only
    "2021年河北煤炭产量是多少？",                # another province: a name the article never uses
    "太行钢铁集团去年的产量是多少？",              # a company the article never names
]
#: The reason each near miss is given, where it is a name (a sure reader never overrules one).
NEAR_MISS_NAMES = {"2021年河北煤炭产量是多少？": "河北", "太行钢铁集团去年的产量是多少？": "太行"}


#: Off-topic English: nothing in the article answers them (the question set's English questions keep
#: their answers: qa eval's test split).
OFF_TOPIC_ENGLISH = ["What is the capital of France?", "What is Python?", "Who is the president of the USA?", "Tell me a joke",
                     "What is the speed of light?",
                     "How do I bake bread?"]

