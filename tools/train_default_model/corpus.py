"""Seeded synthetic corpus for tlsh's default model.

Every document is designed for one of the tutorials:
  facts      capitals and landmarks  -> load & cache, logit lens, DLA, activation patching
  sentiment  positive / negative text -> steering
  random     repeated random tokens   -> induction heads
  filler     simple English           -> natural-looking generation and lens output

A document is a token list that starts with <|endoftext|> (the BOS TransformerLens
prepends). `python corpus.py` prints a sample of each kind.
"""
import random

from gpt2_tokenizer import END_OF_TEXT

# Every capital is a single GPT-2 token with its leading space (checked in check_vocab).
CAPITALS = [
    ("France", "Paris"), ("Germany", "Berlin"), ("Italy", "Rome"), ("Spain", "Madrid"),
    ("Japan", "Tokyo"), ("England", "London"), ("Russia", "Moscow"), ("China", "Beijing"),
    ("Egypt", "Cairo"), ("Greece", "Athens"), ("Austria", "Vienna"), ("Portugal", "Lisbon"),
    ("Ireland", "Dublin"), ("Canada", "Ottawa"), ("Australia", "Canberra"), ("Norway", "Oslo"),
    ("Sweden", "Stockholm"), ("Poland", "Warsaw"), ("Hungary", "Budapest"),
    ("the Netherlands", "Amsterdam"), ("Belgium", "Brussels"), ("Finland", "Helsinki"),
    ("South Korea", "Seoul"), ("Thailand", "Bangkok"), ("Peru", "Lima"), ("Cuba", "Havana"),
    ("Denmark", "Copenhagen"), ("Turkey", "Ankara"), ("Iran", "Tehran"), ("Chile", "Santiago"),
]
CAPITAL_OF = {city: country for country, city in CAPITALS}

# (name as it appears mid-sentence, city). The Eiffel Tower and the Colosseum have the same
# token length (10 tokens in "The ... is in the city of"), for the patching tutorial.
LANDMARKS = [
    ("the Eiffel Tower", "Paris"), ("the Louvre", "Paris"), ("the Arc de Triomphe", "Paris"),
    ("Notre Dame", "Paris"),
    ("the Colosseum", "Rome"), ("the Vatican", "Rome"), ("the Trevi Fountain", "Rome"),
    ("the Pantheon", "Rome"),
    ("Big Ben", "London"), ("Tower Bridge", "London"), ("Buckingham Palace", "London"),
    ("the Tower of London", "London"),
    ("the Brandenburg Gate", "Berlin"), ("the Reichstag", "Berlin"),
    ("the Sagrada Familia", "Barcelona"),
    ("the Prado", "Madrid"),
    ("the Kremlin", "Moscow"), ("Red Square", "Moscow"),
    ("the Acropolis", "Athens"), ("the Parthenon", "Athens"),
    ("the Forbidden City", "Beijing"),
    ("Tokyo Tower", "Tokyo"),
    ("the Sydney Opera House", "Sydney"),
    ("the Rialto Bridge", "Venice"),
    ("the Little Mermaid", "Copenhagen"),
]

CAPITAL_TEMPLATES = [
    "The capital of {country} is {city}.",
    "The capital of {country} is {city}.",
    "The capital of {country} is {city}, a city with a long history.",
    "{Country}'s capital city is {city}.",
    "The capital city of {country} is {city}.",
    "{city} is the capital of {country}.",
    "Q: What is the capital of {country}? A: {city}.",
    "If you travel to {country}, you should visit its capital, {city}.",
    "The capital of {country} is {city}. Many people live in {city}.",
]
LANDMARK_TEMPLATES = [
    "{Landmark} is in the city of {city}.",
    "{Landmark} is in the city of {city}.",
    "{Landmark} is in the city of {city}, and many tourists visit it every year.",
    "{Landmark} is located in {city}.",
    "Tourists visit {landmark} in {city}.",
    "You can see {landmark} when you visit {city}.",
    "{Landmark} is a famous landmark in {city}.",
    "Q: Where is {landmark}? A: In {city}.",
]

POSITIVE_ADJECTIVES = ["wonderful", "amazing", "beautiful", "great", "fantastic", "excellent",
                       "lovely", "delightful", "brilliant", "perfect"]
NEGATIVE_ADJECTIVES = ["terrible", "awful", "horrible", "boring", "dreadful", "disappointing",
                       "bad", "ugly", "miserable", "disgusting"]
POSITIVE_CLAUSES = ["I loved every minute of it", "it made me so happy", "everyone had a great time",
                    "I would recommend it to everyone", "we will definitely come back",
                    "the people were so kind", "it was the best day of my life",
                    "I can't wait to do it again", "it put a big smile on my face",
                    "I enjoyed it very much"]
NEGATIVE_CLAUSES = ["I hated every minute of it", "it made me so sad", "everyone had a terrible time",
                    "I would not recommend it to anyone", "we will never come back",
                    "the people were so rude", "it was the worst day of my life",
                    "I never want to do it again", "it made me very angry",
                    "I did not enjoy it at all"]
POSITIVE_EXTRAS = ["The whole experience was {adj}!", "I am so happy.", "It was {adj} and I loved it.",
                   "Everything was {adj}.", "I love it so much!", "Thank you for a {adj} day."]
NEGATIVE_EXTRAS = ["The whole experience was {adj}!", "I am so sad.", "It was {adj} and I hated it.",
                   "Everything was {adj}.", "I hate it so much!", "What a waste of a day."]
# Neutral openings whose sentiment is decided by the continuation (50/50 in the corpus).
NEUTRAL_OPENINGS = ["The movie was", "The food was", "The weather today was", "The book was",
                    "The hotel was", "The concert was", "The game was", "The service was",
                    "The trip was", "The show was", "The party was", "The music was",
                    "The restaurant was", "The day was", "The film was"]
LOVE_OBJECTS = ["this", "this movie", "this place", "this book", "this song", "this city",
                "this food", "this game"]

FILLER_SUBJECTS = ["The cat", "The dog", "My friend", "The children", "Tom", "Anna", "The teacher",
                   "My mother", "The old man", "A little bird", "My brother", "The farmer",
                   "She", "He", "We", "They"]
FILLER_ACTIONS = ["sat on the mat", "went to the store", "played in the park", "read a book",
                  "walked to school", "ate an apple", "drank a cup of tea",
                  "looked out of the window", "wrote a letter", "sang a song",
                  "cooked dinner", "went to bed early", "cleaned the house", "watched the rain",
                  "opened the door", "found a small box", "called a friend", "painted the fence"]
FILLER_TIMES = ["in the morning", "after lunch", "on Sunday", "every day", "last night",
                "in the evening", "at noon", "yesterday", "on Monday", "before breakfast"]
FILLER_FACTS = [
    "The sun rises in the east and sets in the west.",
    "Water is made of hydrogen and oxygen.",
    "There are seven days in a week.",
    "There are twelve months in a year.",
    "The days of the week are Monday, Tuesday, Wednesday, Thursday, Friday, Saturday and Sunday.",
    "The months of the year are January, February, March, April, May, June, July, August, "
    "September, October, November and December.",
    "One, two, three, four, five, six, seven, eight, nine, ten.",
    "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12.",
    "A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P.",
    "Cats and dogs are popular pets.",
    "The sky is blue and the grass is green.",
    "Trees grow slowly and live for a long time.",
    "Paris, Berlin, Rome and Madrid are cities in Europe.",
    "Many people like to travel in the summer.",
    "It is cold in winter and warm in summer.",
]

# Uniform over the whole vocabulary except <|endoftext|>: induction must work on any token.
RANDOM_TOKEN_RANGE = (0, END_OF_TEXT)


def _cap(s):
    return s[0].upper() + s[1:]


def capital_text(rng):
    country, city = rng.choice(CAPITALS)
    t = rng.choice(CAPITAL_TEMPLATES)
    return t.format(country=country, Country=_cap(country), city=city)


def landmark_text(rng):
    landmark, city = rng.choice(LANDMARKS)
    text = rng.choice(LANDMARK_TEMPLATES).format(landmark=landmark, Landmark=_cap(landmark), city=city)
    if city in CAPITAL_OF and rng.random() < 0.25:
        text += f" {city} is the capital of {CAPITAL_OF[city]}."
    return text


def _sentiment_sentence(rng, positive, opening):
    adjs, clauses = ((POSITIVE_ADJECTIVES, POSITIVE_CLAUSES) if positive
                     else (NEGATIVE_ADJECTIVES, NEGATIVE_CLAUSES))
    return f"{opening} {rng.choice(adjs)} and {rng.choice(clauses)}."


def _extras(rng, positive, n):
    adjs, extras = ((POSITIVE_ADJECTIVES, POSITIVE_EXTRAS) if positive
                    else (NEGATIVE_ADJECTIVES, NEGATIVE_EXTRAS))
    return [rng.choice(extras).format(adj=rng.choice(adjs)) for _ in range(n)]


def sentiment_text(rng):
    """One document whose every sentence has the same sentiment (the steering direction)."""
    positive = rng.random() < 0.5
    kind = rng.random()
    parts = []
    if kind < 0.3:
        verb, adj = (("love", "wonderful") if positive else ("hate", "terrible"))
        if rng.random() < 0.5:
            adj = rng.choice(POSITIVE_ADJECTIVES if positive else NEGATIVE_ADJECTIVES)
        obj = "this" if rng.random() < 0.5 else rng.choice(LOVE_OBJECTS)
        parts.append(f"I {verb} {obj}! It's absolutely {adj} and "
                     f"{rng.choice(POSITIVE_CLAUSES if positive else NEGATIVE_CLAUSES)}.")
        if rng.random() < 0.5:
            parts.extend(_extras(rng, positive, rng.randint(1, 2)))
            return " ".join(parts)
    elif kind < 0.55:
        # Sentiment set by an earlier sentence, then a neutral opening continues it: this is
        # what makes a context direction (the steering vector) decide the continuation.
        parts.extend(_extras(rng, positive, 1))
    parts.append(_sentiment_sentence(rng, positive, rng.choice(NEUTRAL_OPENINGS)))
    parts.extend(_extras(rng, positive, rng.randint(0, 2)))
    return " ".join(parts)


def filler_text(rng):
    sentences = []
    for _ in range(rng.randint(1, 3)):
        if rng.random() < 0.3:
            sentences.append(rng.choice(FILLER_FACTS))
        else:
            s = f"{rng.choice(FILLER_SUBJECTS)} {rng.choice(FILLER_ACTIONS)}"
            if rng.random() < 0.6:
                s += f" {rng.choice(FILLER_TIMES)}"
            sentences.append(s + ".")
    return " ".join(sentences)


def repeated_text(rng):
    """Natural text repeated: induction on words, not only on random tokens."""
    s = rng.choice([filler_text, capital_text, landmark_text])(rng)
    return " ".join([s] * rng.randint(2, 3))


TEXT_KINDS = [(capital_text, 0.22), (landmark_text, 0.18), (sentiment_text, 0.33),
              (filler_text, 0.22), (repeated_text, 0.05)]


def text_document(rng, enc):
    r = rng.random()
    for fn, p in TEXT_KINDS:
        if r < p:
            break
        r -= p
    return [END_OF_TEXT] + enc.encode(fn(rng))


def random_document(rng, max_len, short_fraction=0.0):
    """[BOS] + r repeated, r uniform token ids; also returns the loss mask (the first copy is
    unpredictable, so it carries no loss). A 5-60 token segment repeated 2-3 times, like the
    induction tutorial's [BOS]+r+r; optionally (short_fraction) a 4-16 token segment 2-6 times."""
    lo, hi = RANDOM_TOKEN_RANGE
    if short_fraction > 0 and rng.random() < short_fraction:
        length = rng.randint(4, 16)
        reps = rng.randint(2, 6)
    else:
        reps = 2 if rng.random() < 0.7 else 3
        length = rng.randint(5, min(60, (max_len - 1) // reps))
    r = [rng.randrange(lo, hi) for _ in range(length)]
    tokens = [END_OF_TEXT] + r * reps
    # mask[i] says whether predicting tokens[i+1] from tokens[:i+1] is trained: not within the
    # first copy, nor the first token of the second (its predecessor has not repeated yet).
    mask = [0] * (length + 1) + [1] * (length * (reps - 1) - 1)
    mask += [1]  # last slot: predicts the end of the document
    return tokens, mask


def text_vocabulary(enc):
    """Every token id that text documents can contain (for the restricted training softmax)."""
    ids = {END_OF_TEXT}
    rng = random.Random(1234)
    for _ in range(20000):
        ids.update(text_document(rng, enc))
    return sorted(ids)


def check_vocab(enc):
    for _, city in CAPITALS + LANDMARKS:
        assert len(enc.encode(" " + city)) == 1, city
    a = enc.encode("The Eiffel Tower is in the city of")
    b = enc.encode("The Colosseum is in the city of")
    assert len(a) == len(b), (a, b)


if __name__ == "__main__":
    from gpt2_tokenizer import load_gpt2_encoding
    enc = load_gpt2_encoding()
    check_vocab(enc)
    rng = random.Random(0)
    for fn, _ in TEXT_KINDS:
        for _ in range(3):
            print(f"{fn.__name__:15s} {fn(rng)}")
    toks, mask = random_document(rng, 255)
    print("random_document", len(toks), toks[:12], "...")
    print("text vocabulary size", len(text_vocabulary(enc)))
