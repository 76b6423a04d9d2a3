"""Demo content for Balance: vocabularies, hand-written profiles, Q&A, articles, bulk generator.

Pure Python data with no database access, so it can be used by seed commands,
tests and benchmarks alike (the vocabularies come from ``marketplace.specialists.vocabulary``).
All people, practices, addresses and licence numbers are fictional.

Specialist dicts (hand-written and generated) share these keys:

    slug, display_name, title, licence_type, licence_number, licence_jurisdiction,
    years_of_practice, specialties, approaches, languages, formats,
    city_index, city, country (ISO-2), country_name, timezone,
    fee_minor (minor units of ``currency``: cents for EUR, yen for JPY), currency,
    offers_free_consultation, verified, accepting_new_clients, bio_markdown,
    weekly_hours (list of (weekday 0=Mon..6=Sun, "HH:MM", "HH:MM") in the specialist's
    own timezone), video_link (None unless "video" in formats),
    address (None unless "in_person" in formats)
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Iterator
from typing import NamedTuple

from marketplace.specialists.vocabulary import APPROACHES, FORMATS, LANGUAGES, SPECIALTIES

__all__ = [
    "SPECIALTIES",
    "APPROACHES",
    "LANGUAGES",
    "FORMATS",
    "TOPICS",
    "City",
    "CITIES",
    "CURRENCIES",
    "CURRENCY_BY_COUNTRY",
    "LICENCE_JURISDICTIONS",
    "SPECIALIST_KEYS",
    "SPECIALISTS",
    "QUESTIONS",
    "ARTICLES",
    "FIRST_NAMES",
    "LAST_NAMES",
    "generate_specialists",
    "slugify",
]

# ---------------------------------------------------------------------------
# Vocabularies: (slug, label). Slugs are fixed; the app's vocabulary tables use them.
# One source: SPECIALTIES, APPROACHES, LANGUAGES and FORMATS are imported (top of module)
# from the specialists domain's vocabulary module.
# ---------------------------------------------------------------------------

# Question topics reuse the specialty slugs.
TOPICS: list[tuple[str, str]] = list(SPECIALTIES)


# ---------------------------------------------------------------------------
# Cities
# ---------------------------------------------------------------------------


class City(NamedTuple):
    city: str
    country_code: str  # ISO 3166-1 alpha-2
    country_name: str
    timezone: str  # IANA name


CITIES: list[City] = [
    City("Berlin", "DE", "Germany", "Europe/Berlin"),  # 0
    City("Munich", "DE", "Germany", "Europe/Berlin"),  # 1
    City("London", "GB", "United Kingdom", "Europe/London"),  # 2
    City("Edinburgh", "GB", "United Kingdom", "Europe/London"),  # 3
    City("Paris", "FR", "France", "Europe/Paris"),  # 4
    City("Madrid", "ES", "Spain", "Europe/Madrid"),  # 5
    City("Barcelona", "ES", "Spain", "Europe/Madrid"),  # 6
    City("Lisbon", "PT", "Portugal", "Europe/Lisbon"),  # 7
    City("Rome", "IT", "Italy", "Europe/Rome"),  # 8
    City("Milan", "IT", "Italy", "Europe/Rome"),  # 9
    City("Amsterdam", "NL", "Netherlands", "Europe/Amsterdam"),  # 10
    City("Vienna", "AT", "Austria", "Europe/Vienna"),  # 11
    City("Dublin", "IE", "Ireland", "Europe/Dublin"),  # 12
    City("Warsaw", "PL", "Poland", "Europe/Warsaw"),  # 13
    City("Kraków", "PL", "Poland", "Europe/Warsaw"),  # 14
    City("Kyiv", "UA", "Ukraine", "Europe/Kyiv"),  # 15
    City("New York", "US", "United States", "America/New_York"),  # 16
    City("Chicago", "US", "United States", "America/Chicago"),  # 17
    City("San Francisco", "US", "United States", "America/Los_Angeles"),  # 18
    City("Boston", "US", "United States", "America/New_York"),  # 19
    City("Toronto", "CA", "Canada", "America/Toronto"),  # 20
    City("Vancouver", "CA", "Canada", "America/Vancouver"),  # 21
    City("Montreal", "CA", "Canada", "America/Toronto"),  # 22
    City("Tokyo", "JP", "Japan", "Asia/Tokyo"),  # 23
    City("Sydney", "AU", "Australia", "Australia/Sydney"),  # 24
    City("Melbourne", "AU", "Australia", "Australia/Melbourne"),  # 25
]

# Currencies the demo uses (their digits, symbols and euro rates: ``marketplace.money``).
CURRENCIES: tuple[str, ...] = ("EUR", "USD", "GBP", "PLN", "CAD", "JPY", "AUD")

# Ukraine-based specialists usually bill international clients in EUR, and the demo
# sticks to the seven currencies above, so UA maps to EUR.
CURRENCY_BY_COUNTRY: dict[str, str] = {
    "DE": "EUR",
    "AT": "EUR",
    "FR": "EUR",
    "ES": "EUR",
    "PT": "EUR",
    "IT": "EUR",
    "NL": "EUR",
    "IE": "EUR",
    "UA": "EUR",
    "GB": "GBP",
    "PL": "PLN",
    "US": "USD",
    "CA": "CAD",
    "JP": "JPY",
    "AU": "AUD",
}

# Where a licence is issued, per city (used by the generator).
LICENCE_JURISDICTIONS: dict[str, str] = {
    "Berlin": "Berlin, Germany",
    "Munich": "Bavaria, Germany",
    "London": "United Kingdom",
    "Edinburgh": "United Kingdom",
    "Paris": "France",
    "Madrid": "Community of Madrid, Spain",
    "Barcelona": "Catalonia, Spain",
    "Lisbon": "Portugal",
    "Rome": "Lazio, Italy",
    "Milan": "Lombardy, Italy",
    "Amsterdam": "Netherlands",
    "Vienna": "Austria",
    "Dublin": "Ireland",
    "Warsaw": "Poland",
    "Kraków": "Poland",
    "Kyiv": "Ukraine",
    "New York": "New York State",
    "Chicago": "Illinois",
    "San Francisco": "California",
    "Boston": "Massachusetts",
    "Toronto": "Ontario, Canada",
    "Vancouver": "British Columbia, Canada",
    "Montreal": "Quebec, Canada",
    "Tokyo": "Japan",
    "Sydney": "Australia",
    "Melbourne": "Australia",
}

SPECIALIST_KEYS: tuple[str, ...] = (
    "slug",
    "display_name",
    "title",
    "licence_type",
    "licence_number",
    "licence_jurisdiction",
    "years_of_practice",
    "specialties",
    "approaches",
    "languages",
    "formats",
    "city_index",
    "city",
    "country",
    "country_name",
    "timezone",
    "fee_minor",
    "currency",
    "offers_free_consultation",
    "verified",
    "accepting_new_clients",
    "bio_markdown",
    "weekly_hours",
    "video_link",
    "address",
)

VIDEO_LINK_BASE = "https://meet.example.org/"


# ---------------------------------------------------------------------------
# Slugs
# ---------------------------------------------------------------------------

# Letters that NFKD does not decompose into an ASCII base letter.
_TRANSLITERATE = str.maketrans(
    {
        "ł": "l",
        "Ł": "L",
        "ø": "o",
        "Ø": "O",
        "đ": "d",
        "Đ": "D",
        "ı": "i",
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "þ": "th",
        "Þ": "Th",
        "ð": "d",
        "Ð": "D",
    }
)
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    """ASCII, lowercase, hyphen-separated slug: ``"Dr. Łucja Núñez-O'Brien"`` -> ``"dr-lucja-nunez-obrien"``.

    Accents are stripped via Unicode decomposition, apostrophes are dropped, and any other
    run of non-alphanumerics becomes one hyphen. Returns "" if nothing is left.
    """
    text = text.translate(_TRANSLITERATE).replace("'", "").replace("\u2019", "")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NON_ALNUM.sub("-", ascii_text.lower()).strip("-")


def _name_slug(display_name: str) -> str:
    """Slug for a person's name, without an academic "Dr." prefix."""
    if display_name.startswith("Dr. "):
        display_name = display_name[4:]
    return slugify(display_name)


# ---------------------------------------------------------------------------
# Hand-written specialists
# ---------------------------------------------------------------------------

WeeklyHours = list[tuple[int, str, str]]


def _days(days: range | list[int], start: str, end: str) -> WeeklyHours:
    return [(day, start, end) for day in days]


_MON_FRI = range(0, 5)
_MON_THU = range(0, 4)

_RAW_SPECIALISTS: list[dict] = [
    {  # 0
        "display_name": "Dr. Lena Hartmann",
        "title": "Psychotherapist",
        "licence_type": "Licensed psychological psychotherapist (Approbation)",
        "licence_number": "DE-BE-PP-20417",
        "licence_jurisdiction": "Berlin, Germany",
        "years_of_practice": 12,
        "specialties": ["anxiety", "ocd", "stress"],
        "approaches": ["cbt", "act"],
        "languages": ["de", "en"],
        "formats": ["video", "in_person"],
        "city_index": 0,
        "fee_minor": 11000,
        "offers_free_consultation": True,
        "verified": True,
        "accepting_new_clients": True,
        "address": "Kastanienhof 12, 10435 Berlin",
        "weekly_hours": _days(_MON_THU, "08:00", "13:00") + [(2, "15:00", "18:00")],
        "bio_markdown": (
            "I'm a psychological psychotherapist in Berlin-Prenzlauer Berg, and I work mostly with "
            "adults whose worries have started to shrink their lives: panic, constant what-ifs, "
            "intrusive thoughts, or the feeling of never being able to switch off. My approach is "
            "structured but not rigid; we use tools from CBT and ACT, try small experiments between "
            "sessions, and review together what is actually helping. In our **free 30-minute "
            "consultation** you can describe what's going on in your own words, ask me anything about "
            "how I work, and we'll decide together whether it makes sense to continue. I see clients "
            "in German or English, in my practice or by video."
        ),
    },
    {  # 1
        "display_name": "Tomasz Wieczorek",
        "title": "Psychotherapist",
        "licence_type": "Certified psychotherapist",
        "licence_number": "PL-MZ-PT-08812",
        "licence_jurisdiction": "Poland",
        "years_of_practice": 9,
        "specialties": ["depression", "relationships", "self-esteem"],
        "approaches": ["psychodynamic", "integrative"],
        "languages": ["pl", "en"],
        "formats": ["video", "in_person"],
        "city_index": 13,
        "fee_minor": 20000,
        "offers_free_consultation": True,
        "verified": True,
        "accepting_new_clients": True,
        "address": "ul. Jaśminowa 7/3, 02-545 Warszawa",
        "weekly_hours": _days([0, 1, 3], "14:00", "20:00") + [(4, "09:00", "13:00")],
        "bio_markdown": (
            "I'm a psychotherapist in Warsaw working with adults who feel stuck: in low mood, in "
            "relationships that repeat the same painful pattern, or with a harsh inner voice that is "
            "never satisfied. I work psychodynamically, which means we take time to understand where "
            "these patterns come from and how they show up in your life today, including in the room "
            "with me. The free 30-minute consultation is a calm first conversation:\n\n"
            "- you tell me what brings you here,\n"
            "- I explain how longer-term therapy with me usually looks,\n"
            "- and we talk honestly about frequency, cost and whether I'm the right person for you.\n\n"
            "Sessions are in Polish or English, in person in Mokotów or online."
        ),
    },
    {  # 2
        "display_name": "Amara Okafor",
        "title": "Counselling psychologist",
        "licence_type": "Registered practitioner psychologist (counselling)",
        "licence_number": "GB-PP-31958",
        "licence_jurisdiction": "United Kingdom",
        "years_of_practice": 11,
        "specialties": ["trauma", "anxiety", "self-esteem"],
        "approaches": ["emdr", "cbt"],
        "languages": ["en"],
        "formats": ["video", "phone", "in_person"],
        "city_index": 2,
        "fee_minor": 8500,
        "offers_free_consultation": True,
        "verified": True,
        "accepting_new_clients": True,
        "address": "14 Hollyfield Mews, London SW9 8QT",
        "weekly_hours": _days(range(0, 3), "10:00", "17:00") + [(3, "12:00", "20:00")],
        "bio_markdown": (
            "I'm a counselling psychologist in South London, and much of my work is with people "
            "living with the after-effects of frightening or overwhelming experiences, whether that "
            "was a single event or something that went on for years. I'm trained in EMDR and "
            "trauma-focused CBT, and I put a lot of care into making therapy feel safe and well paced "
            "before we ever approach difficult memories. **You stay in control of what we talk about "
            "and when.** Our free 30-minute consultation is simply a chance to meet, hear a little "
            "about what you're hoping for and get a feel for me; you don't need to share any details "
            "of what happened. I offer sessions in person in Brixton, by video or by phone."
        ),
    },
    {  # 3
        "display_name": "Sofía Delgado Ruiz",
        "title": "Clinical psychologist",
        "licence_type": "Licensed general health psychologist",
        "licence_number": "ES-MD-PGS-17733",
        "licence_jurisdiction": "Community of Madrid, Spain",
        "years_of_practice": 8,
        "specialties": ["relationships", "family", "lgbtq"],
        "approaches": ["systemic", "humanistic"],
        "languages": ["es", "en"],
        "formats": ["video", "in_person"],
        "city_index": 5,
        "fee_minor": 7000,
        "offers_free_consultation": True,
        "verified": True,
        "accepting_new_clients": True,
        "address": "Calle de los Almendros 21, 2º izq., 28009 Madrid",
        "weekly_hours": _days(_MON_THU, "16:00", "21:00"),
        "bio_markdown": (
            "I'm a psychologist in Madrid working with couples, families and individuals, including "
            "many LGBTQ+ clients and families navigating a coming-out, a separation or a new blended "
            "household. My training is systemic, so I'm interested not only in each person but in the "
            "patterns between people: who does what, who stays quiet, and what everyone is trying to "
            "protect. In the **free 30-minute consultation**, which couples can join together or "
            "separately, we'll clarify what you'd like to change and whether individual, couple or "
            "family sessions make more sense. I work in Spanish and English, at my practice near "
            "Retiro or online."
        ),
    },
    {  # 4
        "display_name": "Claire Dubois-Tanaka",
        "title": "Clinical psychologist",
        "licence_type": "Certified public psychologist",
        "licence_number": "JP-CPP-52106",
        "licence_jurisdiction": "Japan",
        "years_of_practice": 13,
        "specialties": ["stress", "sleep", "anxiety"],
        "approaches": ["cbt", "act"],
        "languages": ["en", "fr"],
        "formats": ["video", "in_person"],
        "city_index": 23,
        "fee_minor": 12000,
        "offers_free_consultation": True,
        "verified": True,
        "accepting_new_clients": True,
        "address": "Hikari Building 4F, 2-8-11 Momijidai, Shibuya-ku, Tokyo",
        "weekly_hours": _days(range(1, 5), "10:00", "18:00") + [(5, "10:00", "13:00")],
        "bio_markdown": (
            "I'm a clinical psychologist who has lived and worked in Tokyo for over a decade, "
            "supporting expats, international families and bicultural couples with the particular "
            "pressures of building a life far from home. Many of my clients come to me with long "
            "working hours, poor sleep, or anxiety that has quietly crept up over time. I draw on CBT "
            "and ACT and like to keep things practical: we look at **what keeps the problem going** "
            "and experiment with small changes that fit your real schedule. The free 30-minute "
            "consultation is a relaxed conversation, by video or at my office in Shibuya, in English "
            "or French; I also speak conversational Japanese."
        ),
    },
    {  # 5
        "display_name": "Marcus Bell",
        "title": "Psychotherapist",
        "licence_type": "Licensed clinical social worker (LCSW)",
        "licence_number": "US-NY-LCSW-40982",
        "licence_jurisdiction": "New York State",
        "years_of_practice": 14,
        "specialties": ["addiction", "depression", "stress"],
        "approaches": ["cbt", "dbt"],
        "languages": ["en", "es"],
        "formats": ["video", "phone"],
        "city_index": 16,
        "fee_minor": 16000,
        "offers_free_consultation": True,
        "verified": True,
        "accepting_new_clients": True,
        "weekly_hours": _days(_MON_FRI, "07:00", "10:00") + _days([0, 2], "18:00", "21:00"),
        "bio_markdown": (
            "I'm a licensed clinical social worker in New York, and I've spent most of my career with "
            "adults who are trying to change their relationship with alcohol, substances or other "
            "habits that have started to cost them more than they give. I use CBT and DBT skills "
            "alongside a lot of plain, judgment-free conversation: **you don't need to have hit rock "
            "bottom, or to have decided on sobriety, to start talking.** The free 30-minute "
            "consultation is a phone or video call where we look at what's happening, what you want "
            "to be different, and what kind of support would actually fit your life. I also see "
            "clients dealing with low mood and work stress, in English or Spanish."
        ),
    },
    {  # 6
        "display_name": "Dr. Priya Raman",
        "title": "Psychiatrist",
        "licence_type": "Medical licence (psychiatry)",
        "licence_number": "CA-ON-MD-77120",
        "licence_jurisdiction": "Ontario, Canada",
        "years_of_practice": 16,
        "specialties": ["adhd", "depression", "anxiety"],
        "approaches": ["integrative", "cbt"],
        "languages": ["en"],
        "formats": ["video"],
        "city_index": 20,
        "fee_minor": 18000,
        "offers_free_consultation": True,
        "verified": True,
        "accepting_new_clients": True,
        "weekly_hours": _days([0, 2, 4], "09:00", "15:00"),
        "bio_markdown": (
            "I'm a psychiatrist in Toronto with a particular interest in adult ADHD, depression and "
            "anxiety, and I try to bring the same curiosity to your story as to your symptoms. My "
            "work combines careful assessment with psychotherapy informed by CBT; where medication "
            "is relevant, we discuss the options openly and at your pace. The free 30-minute "
            "consultation is **not an assessment**: it's a video conversation to understand what "
            "you're looking for, explain what a full assessment with me involves, and make sure I'm "
            "the right next step rather than, say, a psychologist or your family doctor. I see adults "
            "across Ontario by video."
        ),
    },
    {  # 7
        "display_name": "Giulia Ferraro",
        "title": "Psychotherapist",
        "licence_type": "Licensed psychologist-psychotherapist",
        "licence_number": "IT-LO-PSI-24519",
        "licence_jurisdiction": "Lombardy, Italy",
        "years_of_practice": 6,
        "specialties": ["eating", "self-esteem", "anxiety"],
        "approaches": ["schema", "cbt"],
        "languages": ["it", "en"],
        "formats": ["video", "in_person"],
        "city_index": 9,
        "fee_minor": 8000,
        "offers_free_consultation": True,
        "verified": True,
        "accepting_new_clients": True,
        "address": "Via dei Tigli 18, 20133 Milano",
        "weekly_hours": _days(_MON_FRI, "14:00", "19:30"),
        "bio_markdown": (
            "I'm a psychotherapist in Milan working mainly with young adults who struggle with food, "
            "body image and the feeling of never being quite enough. I integrate schema therapy and "
            "CBT, which helps us understand the deeper rules you learned early on and find practical "
            "ways to loosen their grip day to day. Our free 30-minute consultation is a gentle first "
            "step:\n\n"
            "- a chance to say what worries you most,\n"
            "- a few questions from me about your daily life,\n"
            "- and a clear next step, whether that's working together or a referral that suits you "
            "better.\n\n"
            "I speak Italian and English and see clients in Città Studi or online."
        ),
    },
    {  # 8
        "display_name": "Olena Kovalenko",
        "title": "Clinical psychologist",
        "licence_type": "Licensed clinical psychologist",
        "licence_number": "UA-KV-CP-11604",
        "licence_jurisdiction": "Ukraine",
        "years_of_practice": 10,
        "specialties": ["trauma", "grief", "anxiety"],
        "approaches": ["emdr", "gestalt"],
        "languages": ["uk", "ru", "en"],
        "formats": ["video", "phone"],
        "city_index": 15,
        "fee_minor": 5000,
        "offers_free_consultation": True,
        "verified": True,
        "accepting_new_clients": True,
        "weekly_hours": _days(range(0, 6), "09:00", "12:00") + _days([1, 3], "18:00", "20:00"),
        "bio_markdown": (
            "I'm a clinical psychologist from Kyiv, and in recent years most of my work has been with "
            "people affected by war, displacement and loss, both those who stayed in Ukraine and "
            "those building a new life abroad. I work with EMDR and Gestalt methods, and I believe "
            "strongly that **stability and a sense of safety come first**. In the free 30-minute "
            "consultation we can speak Ukrainian, Russian or English; I'll ask how you are managing "
            "day to day, explain how I work, and we'll agree whether regular sessions would help right "
            "now. All my sessions are online or by phone, so you can join from wherever you are."
        ),
    },
    {  # 9
        "display_name": "Daniel Fischer",
        "title": "Psychotherapist",
        "licence_type": "Registered psychotherapist (Gestalt therapy)",
        "licence_number": "AT-W-PT-06231",
        "licence_jurisdiction": "Austria",
        "years_of_practice": 7,
        "specialties": ["relationships", "stress", "self-esteem"],
        "approaches": ["gestalt", "humanistic"],
        "languages": ["de", "en"],
        "formats": ["in_person"],
        "city_index": 11,
        "fee_minor": 9500,
        "offers_free_consultation": False,
        "verified": True,
        "accepting_new_clients": True,
        "address": "Zeisiggasse 9/4, 1070 Wien",
        "weekly_hours": _days(range(1, 4), "12:00", "19:00"),
        "bio_markdown": (
            "I'm a Gestalt psychotherapist in Vienna's 7th district, and I work with adults who feel "
            "disconnected from their partners, from their work, or from themselves. Gestalt therapy "
            "pays close attention to what is happening right now: your body, your feelings, and the "
            "way we relate to each other in the session. I don't offer a separate free consultation; "
            "instead, **the first full session is a getting-to-know-each-other meeting** at a reduced "
            "fee, with no obligation to continue. Sessions take place in my practice, in German or "
            "English."
        ),
    },
    {  # 10
        "display_name": "Aisha El Amrani",
        "title": "Clinical psychologist",
        "licence_type": "Registered healthcare psychologist",
        "licence_number": "NL-GZ-39021",
        "licence_jurisdiction": "Netherlands",
        "years_of_practice": 8,
        "specialties": ["anxiety", "family", "self-esteem"],
        "approaches": ["cbt", "act"],
        "languages": ["nl", "ar", "en"],
        "formats": ["video", "in_person"],
        "city_index": 10,
        "fee_minor": 9000,
        "offers_free_consultation": True,
        "verified": True,
        "accepting_new_clients": True,
        "address": "Lijsterbesstraat 12-2, 1094 Amsterdam",
        "weekly_hours": _days(_MON_THU, "09:00", "14:00") + [(5, "10:00", "13:00")],
        "bio_markdown": (
            "I'm a psychologist in Amsterdam, and I work with adults and young adults who are juggling "
            "a lot (family expectations, two cultures, studies or a demanding job) and who feel "
            "anxious or unsure of themselves along the way. I use CBT and ACT in a warm, down-to-earth "
            "way, and I'm happy to bring your family context and faith into the conversation if that "
            "matters to you. In the **free 30-minute consultation** we talk about what you'd like help "
            "with and agree together whether to start; it's completely fine to use it just to ask "
            "questions. I work in Dutch, Arabic and English, in Amsterdam-Oost or online."
        ),
    },
    {  # 11
        "display_name": "Jordan Reyes",
        "title": "Licensed marriage and family therapist",
        "licence_type": "Licensed marriage and family therapist (LMFT)",
        "licence_number": "US-CA-LMFT-58844",
        "licence_jurisdiction": "California",
        "years_of_practice": 10,
        "specialties": ["relationships", "lgbtq", "family"],
        "approaches": ["systemic", "integrative"],
        "languages": ["en", "es"],
        "formats": ["video", "in_person"],
        "city_index": 18,
        "fee_minor": 17500,
        "offers_free_consultation": True,
        "verified": True,
        "accepting_new_clients": True,
        "address": "2480 Alder Street, Suite 3, San Francisco, CA 94110",
        "weekly_hours": _days(range(1, 5), "11:00", "19:00"),
        "bio_markdown": (
            "I'm Jordan (they/them), a licensed marriage and family therapist in San Francisco "
            "working with couples, families and individuals, with a particular focus on LGBTQ+ "
            "relationships and chosen family. Couples often come to me when the same conflict keeps "
            "resurfacing, or when a big change like a move, a baby or a transition has shifted "
            "everything. **My job isn't to pick a side; it's to help each of you feel heard** and to "
            "find new ways of talking when things get heated. The free 30-minute consultation can be "
            "with one or all partners, and we'll talk about what's bringing you in and what you'd like "
            "to be different. Sessions are in English or Spanish, in the Mission or by video anywhere "
            "in California."
        ),
    },
    {  # 12
        "display_name": "Siobhán Murphy",
        "title": "Counselling psychologist",
        "licence_type": "Registered counselling psychologist",
        "licence_number": "IE-COP-20915",
        "licence_jurisdiction": "Ireland",
        "years_of_practice": 15,
        "specialties": ["grief", "depression", "stress"],
        "approaches": ["humanistic", "integrative"],
        "languages": ["en"],
        "formats": ["video", "phone", "in_person"],
        "city_index": 12,
        "fee_minor": 8000,
        "offers_free_consultation": True,
        "verified": True,
        "accepting_new_clients": True,
        "address": "6 Birchfield Terrace, Ranelagh, Dublin 6",
        "weekly_hours": _days(_MON_THU, "09:30", "16:30"),
        "bio_markdown": (
            "I'm a counselling psychologist in Dublin with fifteen years' experience, much of it spent "
            "alongside people going through bereavement, illness in the family, and the slow kind of "
            "exhaustion that comes from carrying too much for too long. My style is person-centred and "
            "integrative: I listen closely, I don't rush you, and I'll gently offer ideas or structure "
            "when it's helpful. The free 30-minute consultation is a chance to tell me **as much or as "
            "little as you like** about what's happening and to ask how I work; there's no pressure to "
            "decide anything on the call. I see people in person in Ranelagh, by video, or by phone if "
            "that's easier."
        ),
    },
    {  # 13
        "display_name": "Mateus Carvalho",
        "title": "Counselling psychologist",
        "licence_type": "Licensed psychologist",
        "licence_number": "PT-PSI-27460",
        "licence_jurisdiction": "Portugal",
        "years_of_practice": 5,
        "specialties": ["adhd", "stress", "self-esteem"],
        "approaches": ["cbt", "act"],
        "languages": ["pt", "en", "es"],
        "formats": ["video"],
        "city_index": 7,
        "fee_minor": 6000,
        "offers_free_consultation": True,
        "verified": True,
        "accepting_new_clients": True,
        "weekly_hours": _days(_MON_FRI, "17:00", "21:00") + [(6, "10:00", "13:00")],
        "bio_markdown": (
            "I'm a psychologist in Lisbon who works online with adults living with ADHD, or "
            "wondering whether they might be: students, freelancers, parents and professionals who "
            "are tired of being told to just try harder. Together we build practical strategies for "
            "planning, focus and emotional ups and downs using CBT and ACT, and we also make space for "
            "the frustration and self-criticism that often come with years of feeling misunderstood. "
            "In our free 30-minute video consultation I'll ask about your daily routines, explain how "
            "a typical block of sessions looks, and we'll see whether it feels like a good fit. I work "
            "in **Portuguese, English and Spanish**."
        ),
    },
    {  # 14
        "display_name": "Dr. Hélène Marchand",
        "title": "Clinical psychologist",
        "licence_type": "Registered psychologist",
        "licence_number": "FR-75-PSY-93107",
        "licence_jurisdiction": "France",
        "years_of_practice": 20,
        "specialties": ["depression", "anxiety", "relationships"],
        "approaches": ["psychodynamic"],
        "languages": ["fr", "en"],
        "formats": ["in_person", "video"],
        "city_index": 4,
        "fee_minor": 9000,
        "offers_free_consultation": False,
        "verified": True,
        "accepting_new_clients": False,
        "address": "18 rue des Glycines, 75011 Paris",
        "weekly_hours": (_days([0, 1, 3, 4], "09:00", "12:30") + _days([0, 1, 3, 4], "14:00", "18:00")),
        "bio_markdown": (
            "I'm a clinical psychologist and psychoanalytically trained psychotherapist, and I have "
            "practised in Paris for twenty years. I offer open-ended psychodynamic therapy for adults "
            "who want to understand themselves more deeply: recurring sadness, anxiety, or difficulties "
            "in love or work that seem to follow a pattern of their own. I don't offer a free "
            "consultation; instead, we usually meet for **two or three preliminary sessions** to see "
            "whether working together makes sense for both of us. I'm not taking new clients at the "
            "moment, but I'm happy to suggest colleagues if you write to me."
        ),
    },
    {  # 15
        "display_name": "Ewa Nowicka",
        "title": "Psychotherapist",
        "licence_type": "Certified CBT psychotherapist",
        "licence_number": "PL-MA-PT-12077",
        "licence_jurisdiction": "Poland",
        "years_of_practice": 6,
        "specialties": ["ocd", "anxiety", "eating"],
        "approaches": ["cbt", "schema"],
        "languages": ["pl", "en"],
        "formats": ["video", "in_person"],
        "city_index": 14,
        "fee_minor": 18000,
        "offers_free_consultation": True,
        "verified": True,
        "accepting_new_clients": True,
        "address": "ul. Modrzewiowa 5/2, 31-052 Kraków",
        "weekly_hours": _days(range(0, 3), "15:00", "20:00") + [(4, "08:00", "12:00")],
        "bio_markdown": (
            "I'm a CBT psychotherapist in Kraków working with adults who struggle with obsessive "
            "thoughts, compulsions, anxiety or a difficult relationship with food. I like therapy to "
            "be transparent: you'll always know what we're working on and why, and we'll agree on "
            "goals you can actually notice in daily life. During the **free 30-minute consultation** "
            "I'll ask a few questions about what's troubling you, explain how CBT and exposure-based "
            "work look in practice, and answer any doubts you have. I work in Polish and English, in "
            "Kazimierz or online."
        ),
    },
    {  # 16
        "display_name": "Samuel Osei",
        "title": "Psychotherapist",
        "licence_type": "Licensed professional counselor (LPC)",
        "licence_number": "US-IL-LPC-61530",
        "licence_jurisdiction": "Illinois",
        "years_of_practice": 12,
        "specialties": ["addiction", "depression", "grief"],
        "approaches": ["act", "cbt"],
        "languages": ["en"],
        "formats": ["video", "phone"],
        "city_index": 17,
        "fee_minor": 13000,
        "offers_free_consultation": True,
        "verified": True,
        "accepting_new_clients": True,
        "weekly_hours": _days(_MON_FRI, "06:30", "09:30") + _days(_MON_THU, "18:00", "21:00"),
        "bio_markdown": (
            "I'm a licensed professional counselor in Chicago. I work with adults navigating recovery "
            "from addiction, low mood and loss, often all three at once, because life rarely hands us "
            "one thing at a time. My approach blends ACT and CBT with a lot of respect for your own "
            "values and experience: **you are the expert on your life; I bring the tools.** The free "
            "30-minute consultation is a phone or video call where we get to know each other, talk "
            "through what you're hoping for, and figure out together whether I'm the right fit. I "
            "offer early-morning and evening hours for people who work shifts."
        ),
    },
    {  # 17
        "display_name": "Chloe Nguyen",
        "title": "Clinical psychologist",
        "licence_type": "Registered psychologist (clinical psychology endorsement)",
        "licence_number": "AU-PSY-44018",
        "licence_jurisdiction": "Australia",
        "years_of_practice": 9,
        "specialties": ["anxiety", "ocd", "sleep"],
        "approaches": ["cbt", "act"],
        "languages": ["en"],
        "formats": ["video", "in_person"],
        "city_index": 24,
        "fee_minor": 20000,
        "offers_free_consultation": True,
        "verified": True,
        "accepting_new_clients": True,
        "address": "Suite 2, 88 Wattle Lane, Newtown NSW 2042",
        "weekly_hours": _days(_MON_THU, "08:30", "17:00"),
        "bio_markdown": (
            "I'm a clinical psychologist in Sydney's Inner West, and I help adults with anxiety, OCD "
            "and sleep problems, especially the 3 a.m. kind of worrying that makes everything harder "
            "the next day. I use CBT, including exposure work for OCD and structured approaches for "
            "insomnia, and I'm upfront about what each step involves. In our free 30-minute "
            "consultation we'll:\n\n"
            "- talk through what's been happening,\n"
            "- look at what you've already tried,\n"
            "- and sketch out what working together could look like.\n\n"
            "I see clients in Newtown or via telehealth."
        ),
    },
    {  # 18
        "display_name": "Rafael Moreno",
        "title": "Psychotherapist",
        "licence_type": "Licensed general health psychologist",
        "licence_number": "ES-CT-PGS-30512",
        "licence_jurisdiction": "Catalonia, Spain",
        "years_of_practice": 11,
        "specialties": ["addiction", "trauma", "stress"],
        "approaches": ["integrative", "gestalt"],
        "languages": ["es", "en"],
        "formats": ["video", "in_person"],
        "city_index": 6,
        "fee_minor": 7500,
        "offers_free_consultation": True,
        "verified": True,
        "accepting_new_clients": True,
        "address": "Carrer dels Til·lers 14, 08012 Barcelona",
        "weekly_hours": _days(_MON_FRI, "10:00", "14:00") + _days([1, 3], "16:00", "20:00"),
        "bio_markdown": (
            "I'm a psychotherapist in Barcelona with eleven years of experience, including several "
            "years in a community addiction service before I opened my own practice. I work "
            "integratively, drawing on Gestalt and body-oriented techniques, with people facing "
            "addictive patterns, the aftermath of difficult experiences and chronic stress. I believe "
            "change happens in relationship, so **the quality of our connection matters as much as "
            "any technique**. The free 30-minute consultation is an informal conversation, by video or "
            "in my practice in Gràcia, to see how you're doing and whether my way of working suits "
            "you. I work in Spanish and English."
        ),
    },
    {  # 19
        "display_name": "Fiona MacLeod",
        "title": "Psychotherapist",
        "licence_type": "Registered psychotherapist",
        "licence_number": "GB-PT-15733",
        "licence_jurisdiction": "United Kingdom",
        "years_of_practice": 18,
        "specialties": ["trauma", "self-esteem", "relationships"],
        "approaches": ["psychodynamic", "integrative"],
        "languages": ["en"],
        "formats": ["in_person", "phone"],
        "city_index": 3,
        "fee_minor": 7000,
        "offers_free_consultation": False,
        "verified": True,
        "accepting_new_clients": True,
        "address": "3F1, 22 Rowan Place, Edinburgh EH9 1AB",
        "weekly_hours": _days([0, 2, 3], "10:00", "17:00"),
        "bio_markdown": (
            "I'm a psychotherapist in Edinburgh, working with adults who carry the weight of difficult "
            "early experiences into their present relationships and sense of self. My approach is "
            "relational and psychodynamic: we pay attention to feelings, memories and patterns as they "
            "emerge, at a pace that feels bearable. I don't offer a free consultation, but **our first "
            "session is an unhurried assessment** after which you can decide whether you'd like to go "
            "on. I prefer to meet in person in Marchmont, with phone sessions available when you can't "
            "make it in."
        ),
    },
    {  # 20
        "display_name": "Mehmet Yıldız",
        "title": "Psychotherapist",
        "licence_type": "Licensed psychological psychotherapist (Approbation)",
        "licence_number": "DE-BY-PP-33470",
        "licence_jurisdiction": "Bavaria, Germany",
        "years_of_practice": 8,
        "specialties": ["stress", "anxiety", "family"],
        "approaches": ["cbt", "systemic"],
        "languages": ["de", "tr", "en"],
        "formats": ["video", "in_person"],
        "city_index": 1,
        "fee_minor": 10000,
        "offers_free_consultation": True,
        "verified": False,
        "accepting_new_clients": False,
        "address": "Ahornweg 8, 80803 München",
        "weekly_hours": _days(_MON_FRI, "08:00", "12:00"),
        "bio_markdown": (
            "I'm a psychotherapist in Munich working with adults and families, and many of my clients "
            "come from families where more than one language and culture shape everyday life. I "
            "combine CBT with a systemic view, so alongside practical tools for stress and anxiety we "
            "look at the roles and expectations people carry within their families. In the **free "
            "30-minute consultation** we can talk in German, Turkish or English, whichever feels most "
            "natural, about what's going on and what you would like from therapy. My practice is in "
            "Schwabing, and I also offer video sessions. I'm fully booked at the moment, but I open new "
            "places every few months."
        ),
    },
    {  # 21
        "display_name": "Isabelle Tremblay",
        "title": "Clinical psychologist",
        "licence_type": "Licensed psychologist",
        "licence_number": "CA-QC-PSY-08259",
        "licence_jurisdiction": "Quebec, Canada",
        "years_of_practice": 13,
        "specialties": ["family", "adhd", "anxiety"],
        "approaches": ["cbt", "systemic"],
        "languages": ["fr", "en"],
        "formats": ["video", "phone"],
        "city_index": 22,
        "fee_minor": 14000,
        "offers_free_consultation": True,
        "verified": True,
        "accepting_new_clients": True,
        "weekly_hours": _days(_MON_THU, "12:00", "20:00"),
        "bio_markdown": (
            "I'm a psychologist in Montreal working with parents and families, whether you're worried "
            "about your child's anxiety, parenting a child with ADHD, or simply feeling stretched thin "
            "by family life. I use CBT and a systemic lens, and I often work with parents directly, "
            "because small changes at home can make a real difference for the whole family. The free "
            "30-minute consultation is for parents: **tell me what a typical difficult day looks "
            "like**, and I'll explain how I could help and what the next steps would be. Sessions are "
            "in French or English, by video or phone."
        ),
    },
    {  # 22
        "display_name": "Dr. Nathan Greenberg",
        "title": "Clinical psychologist",
        "licence_type": "Licensed psychologist",
        "licence_number": "US-MA-PSY-10482",
        "licence_jurisdiction": "Massachusetts",
        "years_of_practice": 7,
        "specialties": ["ocd", "anxiety"],
        "approaches": ["cbt", "act"],
        "languages": ["en"],
        "formats": ["video"],
        "city_index": 19,
        "fee_minor": 19000,
        "offers_free_consultation": False,
        "verified": True,
        "accepting_new_clients": True,
        "weekly_hours": _days(_MON_FRI, "07:30", "11:30"),
        "bio_markdown": (
            "I'm a clinical psychologist in Boston focusing on OCD and related anxiety, using exposure "
            "and response prevention (ERP) within a CBT framework, together with ACT. ERP means "
            "gradually facing what frightens you, in steps we design together; it's challenging, but "
            "**you're always the one deciding the pace**. I don't offer a free consultation: my first "
            "appointment is a full 60-minute intake where we clarify your goals and build a plan. I "
            "see clients by video across Massachusetts."
        ),
    },
    {  # 23
        "display_name": "Tara Singh",
        "title": "Registered clinical counsellor",
        "licence_type": "Registered clinical counsellor (RCC)",
        "licence_number": "CA-BC-RCC-19236",
        "licence_jurisdiction": "British Columbia, Canada",
        "years_of_practice": 9,
        "specialties": ["grief", "eating", "self-esteem"],
        "approaches": ["humanistic", "act"],
        "languages": ["en"],
        "formats": ["video", "phone", "in_person"],
        "city_index": 21,
        "fee_minor": 12000,
        "offers_free_consultation": True,
        "verified": False,
        "accepting_new_clients": True,
        "address": "204-1875 Salal Row, Vancouver, BC V6J 2Z1",
        "weekly_hours": _days(range(2, 6), "11:00", "18:00"),
        "bio_markdown": (
            "I'm a registered clinical counsellor in Vancouver, and I work with adults going through "
            "grief, struggling with how they feel about food and their bodies, or quietly unsure of "
            "their own worth. My style is warm, person-centred and paced by you, with tools from ACT "
            "when you want something more concrete to take home. In our free 30-minute consultation, "
            "in person in Kitsilano, by video or by phone, you can ask me anything, share what's "
            "brought you here, and see whether we click. **Finding the right fit matters more than "
            "starting fast**, so please don't feel any pressure to decide on the call."
        ),
    },
]


def _finalise(raw: dict) -> dict:
    """Fill in derived keys (slug, city fields, currency, video link) and normalise order."""
    city = CITIES[raw["city_index"]]
    slug = raw.get("slug") or _name_slug(raw["display_name"])
    formats = raw["formats"]
    spec = {
        "slug": slug,
        "display_name": raw["display_name"],
        "title": raw["title"],
        "licence_type": raw["licence_type"],
        "licence_number": raw["licence_number"],
        "licence_jurisdiction": raw["licence_jurisdiction"],
        "years_of_practice": raw["years_of_practice"],
        "specialties": list(raw["specialties"]),
        "approaches": list(raw["approaches"]),
        "languages": list(raw["languages"]),
        "formats": list(formats),
        "city_index": raw["city_index"],
        "city": city.city,
        "country": city.country_code,
        "country_name": city.country_name,
        "timezone": city.timezone,
        "fee_minor": raw["fee_minor"],
        "currency": CURRENCY_BY_COUNTRY[city.country_code],
        "offers_free_consultation": raw["offers_free_consultation"],
        "verified": raw["verified"],
        "accepting_new_clients": raw["accepting_new_clients"],
        "bio_markdown": raw["bio_markdown"],
        "weekly_hours": sorted(raw["weekly_hours"]),
        "video_link": VIDEO_LINK_BASE + slug if "video" in formats else None,
        "address": raw.get("address") if "in_person" in formats else None,
    }
    return spec


SPECIALISTS: list[dict] = [_finalise(raw) for raw in _RAW_SPECIALISTS]

# The two hand-written specialists whose licence is not verified (so not listed): one waits in the
# admins' verification queue, one was rejected, with the reason they were given.
REJECTED_LICENCES: dict[str, str] = {
    "mehmet-yildiz": "The licence number could not be found in the Bavarian chamber's public register. "
                     "Please check it, or upload a copy of your Approbation.",
}
del _RAW_SPECIALISTS


# ---------------------------------------------------------------------------
# Questions and answers
# ---------------------------------------------------------------------------
# Each question: title, body, topic (specialty slug), anonymous, asked_by (first name shown
# for non-anonymous questions, None otherwise), answers: [{"specialist_index", "body"}].

QUESTIONS: list[dict] = [
    {
        "title": "How do I know if I need therapy or just a bad month?",
        "body": (
            "For the last few weeks I've been sleeping badly, snapping at people and struggling to "
            "care about things I usually enjoy. Part of me thinks it's just a rough patch that will "
            "pass on its own. Another part wonders if I should be talking to someone. How do people "
            "decide?"
        ),
        "topic": "depression",
        "anonymous": True,
        "asked_by": None,
        "answers": [
            {
                "specialist_index": 12,
                "body": (
                    "There isn't a threshold you have to cross before you're allowed to talk to "
                    "someone; therapy isn't only for crises. A few questions can help: has this lasted "
                    "longer than a couple of weeks, is it affecting your work, sleep or relationships, "
                    "and have the things that usually help stopped helping? If the answer to any of "
                    "those is yes, it's reasonable to look for support, even if it turns out to be a "
                    "short piece of work. A free initial consultation is a low-pressure way to talk it "
                    "through with a professional and decide together whether therapy makes sense right "
                    "now. And if you ever have thoughts of harming yourself, please contact your local "
                    "emergency number or a crisis line straight away."
                ),
            },
            {
                "specialist_index": 5,
                "body": (
                    'I\'d add that "just a bad month" and "worth talking about" aren\'t opposites. '
                    "Sometimes a few sessions during a rough patch help you understand what set it off "
                    "and keep it from settling in. It can also help to ask what you'd say to a friend "
                    "who described these same weeks to you. If you like, keep a short note of your mood "
                    "and sleep for a week or two; it gives you, and anyone you speak with, a clearer "
                    "picture."
                ),
            },
        ],
    },
    {
        "title": "We keep having the same argument. Is couples therapy worth it?",
        "body": (
            "My partner and I have been together six years and we love each other, but we keep "
            "ending up in the same fight about housework and time together. It always escalates and "
            "then we don't talk for a day. Is this something couples therapy can help with, or do we "
            "need to sort it out ourselves first?"
        ),
        "topic": "relationships",
        "anonymous": False,
        "asked_by": "Lukas",
        "answers": [
            {
                "specialist_index": 11,
                "body": (
                    "What you're describing is one of the most common reasons couples reach out, and "
                    "you definitely don't need to sort it out first; that's what the work is for. "
                    "Repeating arguments are rarely only about the dishes. They often carry bigger "
                    'questions like "do you notice me?" or "am I on my own with this?". In couples '
                    "therapy we slow those moments down so each of you can hear what's underneath, and "
                    "we practise ways to repair after a fight instead of going silent. Many therapists, "
                    "including me, offer a free consultation you can attend together, which is a good "
                    "way to see whether you both feel comfortable with the process."
                ),
            },
            {
                "specialist_index": 3,
                "body": (
                    "One thing I'd gently add: it's a good sign that you're both still invested and "
                    "asking this now rather than years down the line. It helps if you can agree to try "
                    "a few sessions without needing to know the outcome in advance. If one of you is "
                    "more hesitant, a first consultation is a safe place to say that too. A good couples "
                    "therapist will welcome the doubts rather than push past them."
                ),
            },
        ],
    },
    {
        "title": "Is it normal to feel worse after the first few therapy sessions?",
        "body": (
            "I started therapy a month ago to work through things from my childhood. Since then I've "
            "been more emotional and tired than before, and some memories feel closer to the surface. "
            "Is this a sign it's not working, or part of the process?"
        ),
        "topic": "trauma",
        "anonymous": True,
        "asked_by": None,
        "answers": [
            {
                "specialist_index": 2,
                "body": (
                    "Thank you for sharing this; it's an important question, and one worth bringing "
                    "directly to your therapist. Many people feel more stirred up for a while when they "
                    "start paying attention to things they've carried for a long time, but therapy "
                    "shouldn't leave you feeling overwhelmed or unsafe week after week. A good "
                    "therapist will want to know how you're doing between sessions and can slow down, "
                    "focus on grounding and coping skills, or change the pace. If you don't feel able "
                    "to raise it, or the response doesn't sit right with you, it's okay to book a "
                    "consultation with someone else for a second perspective."
                ),
            },
        ],
    },
    {
        "title": "Can online therapy really help with panic attacks?",
        "body": (
            "I get panic attacks, mostly on public transport, and the idea of travelling to a "
            "therapist's office is part of the problem. Does therapy over video work as well as "
            "meeting face to face, or am I settling for second best?"
        ),
        "topic": "anxiety",
        "anonymous": False,
        "asked_by": "Ana",
        "answers": [
            {
                "specialist_index": 0,
                "body": (
                    "You're not settling for second best. Many people find video a very workable "
                    "format for anxiety and panic, and starting from a place where you feel relatively "
                    "safe can be an advantage. Much of the work, such as understanding what happens in "
                    "your body during panic, noticing the thoughts that come with it and planning small "
                    "steps, translates well to a screen. Later on, therapy may include practising in "
                    "real situations, like a short journey, which you can plan together with your "
                    "therapist. A free consultation by video is a low-stakes way to find out how the "
                    "format feels for you."
                ),
            },
            {
                "specialist_index": 17,
                "body": (
                    "I agree, and I'd add one practical tip: set up a private, comfortable space for "
                    "your sessions, with headphones if you share your home. It's also worth asking any "
                    "therapist you're considering how they would approach practising in real-life "
                    "situations over time. If you'd like to meet in person later, some therapists offer "
                    "a mix of both."
                ),
            },
        ],
    },
    {
        "title": "Six months after losing my dad, I still can't concentrate at work",
        "body": (
            "My father died in the spring. I thought I was coping, but I keep losing focus, "
            "forgetting things, and sometimes I just sit at my desk unable to start anything. My "
            "colleagues have been kind, but I feel like I should be over it by now."
        ),
        "topic": "grief",
        "anonymous": True,
        "asked_by": None,
        "answers": [
            {
                "specialist_index": 8,
                "body": (
                    "I'm very sorry about your father. There's no deadline for grief, and six months is "
                    "not a long time; often the first months are carried by shock and practical tasks, "
                    "and the heaviness arrives later. Difficulty concentrating, forgetfulness and low "
                    "energy are common parts of grieving, not a sign that you're doing it wrong. Talking "
                    "with a therapist can give your grief a place to go, so it doesn't have to spill "
                    "over at your desk. If you'd like to try, a free consultation is a gentle way to see "
                    "whether it feels right, and it may also help to ask your workplace about temporary "
                    "adjustments."
                ),
            },
            {
                "specialist_index": 16,
                "body": (
                    'I\'d echo that, and gently question the word "should". Grief tends to come in '
                    "waves rather than in neat stages, and that's normal. It may be worth asking "
                    "yourself whether you've had any space to grieve, or whether you've been holding it "
                    "together for everyone else. A counsellor can offer that space, at your own pace."
                ),
            },
        ],
    },
    {
        "title": "I think I might have ADHD as an adult. Who should I talk to first?",
        "body": (
            "I've always been disorganised and late, but lately it's affecting my job. A friend with "
            "ADHD said my stories sound very familiar. Should I see a psychiatrist, a psychologist or "
            "my GP? I don't really know where to start."
        ),
        "topic": "adhd",
        "anonymous": False,
        "asked_by": "Mark",
        "answers": [
            {
                "specialist_index": 6,
                "body": (
                    "It's a good question, and the answer partly depends on where you live, because "
                    "assessment pathways differ between countries and health systems. In many places "
                    "your GP or family doctor is a sensible first stop: they can look at other things "
                    "that affect focus, such as sleep, and refer you on. A formal ADHD assessment is "
                    "usually carried out by a psychiatrist or a specialised psychologist and involves a "
                    "detailed history, often including your childhood. Nobody can tell from a short "
                    "message whether ADHD is the right explanation, but a free consultation with a "
                    "specialist can help you understand your options and what an assessment involves."
                ),
            },
            {
                "specialist_index": 21,
                "body": (
                    "Whatever the outcome of an assessment, you don't have to wait for a label to get "
                    "practical help. A therapist can already work with you on routines, planning and the "
                    "frustration that builds up after years of struggling. Before any appointment, it "
                    "can be useful to write down specific examples from work and daily life, so you can "
                    "describe them clearly."
                ),
            },
        ],
    },
]


# ---------------------------------------------------------------------------
# Articles
# ---------------------------------------------------------------------------
# author: index into SPECIALISTS, or "admin" for the Balance editorial team.

_ARTICLE_CONSULTATION = """\
Booking a first conversation with a therapist can feel like a bigger step than it looks on screen.
Many people hover over the button for days. This guide explains what the free 30-minute initial
consultation on Balance is, and what it isn't, so you know what to expect.

## What the consultation is for

The free consultation is a short, no-obligation conversation between you and a specialist. It has
two goals:

- **For you:** to get a feel for the person, their way of working and whether you'd be comfortable
  talking to them.
- **For the specialist:** to understand what you're looking for and whether they are the right
  person to help, or whether someone else would be a better fit.

It is not a therapy session, and it's not an assessment or a diagnosis. Think of it as meeting
someone before you decide to work together.

## Before the call

Once you've booked a slot, you'll receive a confirmation with the date, the time in your own time
zone and the details of the format: a video link, a phone call or the practice address. You don't
need to prepare anything, but some people find it helpful to jot down:

1. A sentence or two about what's been going on.
2. What you'd like to be different.
3. Any practical questions, such as fees, session frequency or availability.

If something comes up, you can cancel or reschedule from your bookings page. Specialists appreciate
notice, so the slot can go to someone else.

## During the 30 minutes

Every specialist has their own style, but most consultations follow a similar rhythm.

### Getting started

The specialist will introduce themselves and explain how the call will work. They may mention
confidentiality and its limits, for example what they would do if they were seriously worried about
your safety.

### Your story, in your words

You'll be invited to share what brings you here. You decide how much to say. It's fine to keep it
general; you don't need to describe painful events in detail at this stage.

### Questions in both directions

The specialist may ask about your daily life, any previous experience of therapy and what you hope
to get out of it. This is also your time to ask questions. Useful ones include:

- How do you usually work with people in my situation?
- What does a typical session with you look like?
- How often would we meet, and for roughly how long?
- What are your fees and cancellation terms?

### Agreeing next steps

Towards the end, you'll talk about whether it makes sense to continue. Sometimes the answer is a
clear yes. Sometimes the specialist will suggest a colleague with more specific experience, or a
different kind of support. Both outcomes are a success, because the point is to find the right fit.

## After the call

There's no automatic commitment. If you'd like to continue, you and the specialist arrange your
first full session together. If you're not sure, take your time. Many people speak with two or three
specialists before deciding, and that is completely normal.

## A note on urgent situations

The initial consultation is meant for planning ongoing support, not for emergencies. If you're in
crisis or worried about your immediate safety, please contact your local emergency number or a
crisis line rather than waiting for a booked appointment.

## In short

The free consultation is a low-pressure way to answer one question: *could this person help me?* You
don't need the right words, a diagnosis or a clear plan, just the willingness to have a first
conversation.
"""

_ARTICLE_CHOOSING = """\
People often tell me they chose their first therapist almost at random: the first name in a search,
a recommendation from a friend, whoever had an opening. Sometimes that works out beautifully. But a
little intention at the start can save you months of feeling unsure. Here's how I'd suggest
approaching the choice.

## Start with what you want help with

You don't need a precise label, but a rough sense of the issue helps you filter. Is it mostly about
mood, anxiety, a relationship, a loss, your work, or something that's hard to name? On Balance you
can filter by specialty, and many specialists describe in their profiles the difficulties they see
most often.

If several things feel tangled together, which is common, choose the one that affects your daily
life the most and start there.

## Check the practical basics

Practical details decide whether therapy is sustainable, so look at them early:

- **Language:** can you express yourself fully? Many people find emotional topics easier in their
  first language.
- **Format:** would you rather meet by video, by phone or in person?
- **Availability:** do their hours fit around your work, studies or caring responsibilities? Check
  the time zone shown on their calendar.
- **Fees:** can you afford regular sessions for a few months? Ask about reduced fees if that's
  relevant.

## Understand the main approaches, a little

You don't need to become an expert in therapy models, but knowing the broad families helps you read
profiles:

- **Cognitive and behavioural approaches** such as CBT, ACT and DBT tend to be structured and
  skills-focused, often with tasks between sessions.
- **Psychodynamic approaches** explore how earlier experiences and less conscious patterns shape the
  present, usually over a longer time frame.
- **Humanistic approaches**, including person-centred and Gestalt therapy, focus on your experience
  in the here and now and on the relationship itself.
- **Systemic approaches** look at patterns between people and are common in couples and family work.
- **Integrative therapists** combine elements from several models.

Whatever the model, the working relationship between you and your therapist matters a great deal.
Treat the approach as a starting point, not the deciding factor.

## Look for signs of good practice

A trustworthy specialist is open about their qualifications and registration. On Balance, profiles
with a verification badge have had their licence details checked by our team. It's also reasonable
to ask any therapist:

1. What training and registration do you have?
2. Do you receive regular supervision?
3. What happens if I want to stop or take a break?

Clear, relaxed answers are a good sign.

## Use the consultation to test the fit

This is where the free 30-minute consultation is invaluable. Pay attention not only to what the
specialist says but to how you feel talking to them. Afterwards, ask yourself:

- Did I feel listened to, rather than rushed or judged?
- Did they explain things in a way I understood?
- Could I imagine telling this person something difficult?

You don't need to feel instantly at ease, since first conversations are often a little awkward, but
you should come away with a sense of basic safety and respect.

## It's okay to keep looking

If it doesn't feel right, you haven't failed and neither have they. Fit is personal. Speaking with
two or three specialists before choosing is normal, and a good therapist won't take it personally.
The aim is simply to find someone you can do real work with.
"""

_ARTICLE_FORMATS = """\
When I started practising, nearly all therapy happened in a room with two chairs and a box of
tissues. Today many of my clients never set foot in my practice, and others wouldn't dream of doing
it any other way. Neither is the right answer. Each format has its strengths, and the best choice
depends on your circumstances, your preferences and what you're working on.

## Video sessions

Video is now the most common format on Balance, and for good reason.

**Why people choose it:**

- No travel time, which makes weekly sessions easier to keep up.
- Access to specialists outside your city, useful if you're looking for a particular language or
  specialty.
- Some people feel more relaxed opening up from their own space.

**Things to consider:**

- You need a private place where you won't be overheard. Headphones help, and so does a note on the
  door.
- A stable internet connection matters. Agree with your therapist in advance what you'll do if the
  call drops; switching to phone is a common plan.
- Moving straight from a session back into home life can feel abrupt. A short walk or a few quiet
  minutes afterwards can help.

## Phone sessions

Phone therapy is sometimes overlooked, but it suits many people well.

**Why people choose it:**

- Without a camera, some people find it easier to talk about things that feel embarrassing or
  painful.
- It works with a weak internet connection or when you're away from home.
- You can sit, lie down or walk, whatever helps you think.

**Things to consider:**

- Your therapist can't see your expressions, so it helps to say out loud how you're feeling.
- Exercises that use visual material, such as worksheets or diagrams, need to be shared separately.

## In-person sessions

Meeting face to face remains the preferred option for many people.

**Why people choose it:**

- A dedicated space, separate from home and work, can make it easier to focus.
- The journey there and back creates natural time to prepare and to reflect.
- Some kinds of work, such as certain body-oriented or exposure exercises, are simpler in the same
  room.

**Things to consider:**

- Travel adds time and cost, which can make regular attendance harder.
- Your choice is limited to specialists within reach.

## How to decide

A few questions can point you in the right direction:

1. **Where can I reliably have an hour of privacy?** If the honest answer is nowhere at home,
   in-person sessions may work better.
2. **What would make it easier to keep going?** Therapy tends to work best when you attend
   consistently, so reduce friction wherever you can.
3. **What am I working on?** If your difficulty involves leaving the house or travelling, starting
   online and gradually moving towards in-person sessions can become part of the work itself.
4. **Where do I feel most at ease?** Some people simply feel more connected in a room together;
   others feel freer at a distance. Both preferences are valid.

## You can switch

Your first choice isn't permanent. Many specialists offer more than one format, and it's common to
combine them, for example meeting in person once a month and by video in between. Profiles on
Balance show which formats each specialist offers, and you can filter your search accordingly.

If you're unsure, use the free 30-minute consultation to try a format out. Notice how the
conversation feels, then talk with the specialist about what would suit you best.
"""

_ARTICLE_FIRST_SESSION = """\
You've found a specialist, had your free consultation and booked your first full session. Well done:
that is often the hardest part. Now you might be wondering how to make the most of it. The honest
answer is that you don't need to do anything special. Still, a little preparation can take the edge
off your nerves and help you settle in once the session starts.

## There's no wrong way to begin

People often worry that they'll say the wrong thing, cry too much or not have enough to say. None of
these is a problem. Therapists are used to silences, tears, jokes, tangents and people who start
with "I don't know where to begin". That sentence is a perfectly good beginning.

## A few practical steps

The day before, take a few minutes to check the details:

- **Time and time zone.** Your booking shows the time in your local zone, but double-check if you're
  travelling.
- **Format.** For video, test the link and your camera; for phone, make sure your number is up to
  date; for in-person sessions, plan your route and allow extra time.
- **Privacy.** Arrange a space where you won't be interrupted. If that's hard at home, be creative:
  some people use a parked car or a quiet meeting room.
- **Comfort.** Keep some water nearby, and tissues if you think you might need them.

## Gather your thoughts, lightly

You might find it useful to write a few notes. They are for you, not homework, so keep them short:

1. What made you decide to look for support now?
2. What would you like to be different in three or six months?
3. Is there anything that worries you about therapy itself?

If writing feels like too much, that's fine. You can simply notice what comes to mind on the way to
the session.

## What the first session usually covers

First sessions tend to be a little more structured than later ones. Your therapist will probably:

- go over practical agreements such as confidentiality, cancellations and fees;
- ask about your current situation, your background and the people who support you;
- explore what you hope to get from therapy;
- suggest how you might work together, and invite your thoughts.

You can decline to answer anything you're not ready to talk about. Saying "I'd rather come back to
that later" is entirely acceptable.

## Looking after yourself afterwards

Sessions can stir things up, even good ones. If you can, leave yourself a little time afterwards
rather than rushing straight into a meeting. Some people like to take a walk, write a few lines or
simply sit quietly for a while. Feeling tired or emotional after a first session is common, and it
usually settles.

## Give it a few sessions

It's rare to feel a big shift after one appointment, because trust and understanding build over
time. A useful guide is to give it three or four sessions and then check in with yourself: do you
feel heard, and does the work seem to be heading somewhere that matters to you? If not, raise it
with your therapist. Good therapists welcome that kind of feedback, and it often leads to some of
the most useful conversations.

## Finally

Be kind to yourself. Deciding to invest time and attention in your own wellbeing takes courage, and
whatever you bring to that first session is enough.
"""

ARTICLES: list[dict] = [
    {
        "title": "What happens in a free initial consultation",
        "slug": "what-happens-in-a-free-initial-consultation",
        "summary": (
            "A step-by-step look at the free 30-minute consultation: what you might be asked, what "
            "you can ask, and what happens afterwards."
        ),
        "body_markdown": _ARTICLE_CONSULTATION,
        "author": "admin",
    },
    {
        "title": "How to choose a therapist who fits you",
        "slug": "how-to-choose-a-therapist-who-fits-you",
        "summary": (
            "Qualifications matter, but so does the relationship: a practical way to narrow down "
            "your options and test the fit."
        ),
        "body_markdown": _ARTICLE_CHOOSING,
        "author": 11,
    },
    {
        "title": "Therapy formats: video, phone or in person?",
        "slug": "therapy-formats-video-phone-or-in-person",
        "summary": (
            "Each way of meeting has its own strengths; here is how to decide which one suits your situation right now."
        ),
        "body_markdown": _ARTICLE_FORMATS,
        "author": 17,
    },
    {
        "title": "Preparing for your first session",
        "slug": "preparing-for-your-first-session",
        "summary": (
            "Practical and emotional ways to get ready for your first therapy session, and why you "
            "don't need to have it all figured out."
        ),
        "body_markdown": _ARTICLE_FIRST_SESSION,
        "author": 12,
    },
]


# ---------------------------------------------------------------------------
# Bulk / benchmark generator
# ---------------------------------------------------------------------------

FIRST_NAMES: list[str] = [
    "Anna",
    "Lukas",
    "Sophie",
    "Jonas",
    "Marie",
    "Felix",
    "Emma",
    "Liam",
    "Olivia",
    "Noah",
    "Ava",
    "Ethan",
    "Chloé",
    "Louis",
    "Camille",
    "Hugo",
    "Lucía",
    "Pablo",
    "Carmen",
    "Javier",
    "Giulia",
    "Marco",
    "Chiara",
    "Luca",
    "Inês",
    "João",
    "Beatriz",
    "Tiago",
    "Zofia",
    "Jakub",
    "Katarzyna",
    "Piotr",
    "Oksana",
    "Andriy",
    "Iryna",
    "Dmytro",
    "Elif",
    "Emre",
    "Zeynep",
    "Can",
    "Layla",
    "Omar",
    "Yasmin",
    "Karim",
    "Sanne",
    "Daan",
    "Femke",
    "Bram",
    "Aoife",
    "Cian",
    "Niamh",
    "Hannah",
    "Samuel",
    "Grace",
    "Kwame",
    "Amina",
    "Mei",
    "Hiroshi",
    "Aiko",
    "Ravi",
    "Ananya",
    "Nadia",
    "Mateo",
    "Łucja",
]

LAST_NAMES: list[str] = [
    "Müller",
    "Schneider",
    "Becker",
    "Wagner",
    "Smith",
    "Johnson",
    "Brown",
    "Taylor",
    "Wilson",
    "Martin",
    "Bernard",
    "Lefèvre",
    "Moreau",
    "García",
    "Fernández",
    "López",
    "Martínez",
    "Rossi",
    "Bianchi",
    "Romano",
    "Esposito",
    "Silva",
    "Santos",
    "Ferreira",
    "Costa",
    "Nowak",
    "Wójcik",
    "Mazur",
    "Krawczyk",
    "Shevchenko",
    "Bondarenko",
    "Melnyk",
    "Tkachenko",
    "Yılmaz",
    "Demir",
    "Şahin",
    "Kaya",
    "Haddad",
    "Mansour",
    "Khalil",
    "Benali",
    "de Vries",
    "Jansen",
    "Bakker",
    "Visser",
    "O'Brien",
    "Byrne",
    "Walsh",
    "Kelly",
    "Mensah",
    "Boateng",
    "Okoye",
    "Adeyemi",
    "Tanaka",
    "Suzuki",
    "Sato",
    "Chen",
    "Wang",
    "Patel",
    "Sharma",
    "Iyer",
    "Kim",
    "Cohen",
    "Andersson",
    "Nielsen",
    "Søndergaard",
]

# (title, licence_type, licence code, countries it applies to (None = all), weight)
_TITLE_OPTIONS: list[tuple[str, str, str, frozenset[str] | None, int]] = [
    ("Clinical psychologist", "Licensed clinical psychologist", "CP", None, 5),
    ("Psychotherapist", "Registered psychotherapist", "PT", None, 6),
    ("Counselling psychologist", "Registered counselling psychologist", "COP", None, 3),
    ("Psychiatrist", "Medical licence (psychiatry)", "MD", None, 1),
    (
        "Licensed marriage and family therapist",
        "Licensed marriage and family therapist (LMFT)",
        "LMFT",
        frozenset({"US"}),
        3,
    ),
    ("Licensed clinical social worker", "Licensed clinical social worker (LCSW)", "LCSW", frozenset({"US"}), 3),
    ("Registered clinical counsellor", "Registered clinical counsellor (RCC)", "RCC", frozenset({"CA"}), 2),
]

# Main local language per country (None where the vocabulary has no code for it).
_LOCAL_LANGUAGE: dict[str, str | None] = {
    "DE": "de",
    "AT": "de",
    "GB": "en",
    "IE": "en",
    "FR": "fr",
    "ES": "es",
    "PT": "pt",
    "IT": "it",
    "NL": "nl",
    "PL": "pl",
    "UA": "uk",
    "US": "en",
    "CA": "en",
    "JP": None,
    "AU": "en",
}
_CITY_LANGUAGE_OVERRIDE: dict[str, str] = {"Montreal": "fr"}

# Fee ranges in minor units: (low, high, step).
_FEE_RANGES: dict[str, tuple[int, int, int]] = {
    "EUR": (6000, 15000, 500),
    "GBP": (5000, 12000, 500),
    "USD": (9000, 20000, 500),
    "CAD": (9000, 18000, 500),
    "AUD": (12000, 22000, 500),
    "PLN": (15000, 30000, 1000),
    "JPY": (7000, 15000, 500),
}

# Street formats with fictional-sounding, mostly tree-themed stems.
_STREETS: dict[str, tuple[str, list[str]]] = {
    "DE": ("{stem}straße {n}", ["Linden", "Birken", "Ahorn", "Kastanien", "Eschen", "Holunder"]),
    "AT": ("{stem}gasse {n}", ["Linden", "Birken", "Ahorn", "Zeisig", "Flieder", "Holunder"]),
    "GB": ("{n} {stem} Road", ["Hawthorn", "Rowan", "Willow", "Alder", "Elder", "Hazel"]),
    "IE": ("{n} {stem} Terrace", ["Hawthorn", "Rowan", "Birchfield", "Alder", "Ashgrove"]),
    "US": ("{n} {stem} Street", ["Maple", "Cedar", "Sycamore", "Juniper", "Hickory", "Alder"]),
    "CA": ("{n} {stem} Avenue", ["Maple", "Spruce", "Tamarack", "Cedar", "Salal", "Birch"]),
    "AU": ("{n} {stem} Street", ["Wattle", "Banksia", "Jacaranda", "Bottlebrush", "Grevillea"]),
    "FR": ("{n} rue des {stem}", ["Tilleuls", "Glycines", "Acacias", "Marronniers", "Peupliers"]),
    "ES": ("Calle de los {stem} {n}", ["Almendros", "Olivos", "Naranjos", "Cipreses", "Castaños"]),
    "IT": ("Via dei {stem} {n}", ["Tigli", "Pini", "Gelsi", "Cipressi", "Platani"]),
    "PT": ("Rua das {stem} {n}", ["Oliveiras", "Laranjeiras", "Amendoeiras", "Figueiras"]),
    "NL": ("{stem}straat {n}", ["Linden", "Berken", "Eiken", "Kastanje", "Wilgen", "Lijsterbes"]),
    "PL": ("ul. {stem} {n}", ["Jaśminowa", "Modrzewiowa", "Jarzębinowa", "Klonowa", "Wrzosowa"]),
    "UA": ("vul. {stem} {n}", ["Lypova", "Berezova", "Kashtanova", "Klenova", "Vyshneva"]),
    "JP": ("{n}-4-7 {stem}", ["Momijidai", "Sakuragaoka", "Kaede-cho", "Matsubara", "Hikarimachi"]),
}

_WEEKLY_PATTERNS: list[WeeklyHours] = [
    _days(_MON_FRI, "09:00", "13:00"),
    _days(_MON_THU, "14:00", "19:00"),
    _days(range(1, 5), "17:00", "21:00"),
    _days([0, 2, 4], "08:00", "12:00") + _days([1, 3], "13:00", "18:00"),
    _days(_MON_FRI, "10:00", "16:00") + [(5, "10:00", "13:00")],
    [(2, "18:00", "21:00"), (5, "09:00", "14:00"), (6, "09:00", "14:00")],
    _days(_MON_THU, "08:30", "12:30") + _days(_MON_THU, "13:30", "17:00"),
    _days([0, 1, 3], "12:00", "20:00"),
    _days(_MON_FRI, "07:00", "10:00") + _days([0, 2], "18:00", "21:00"),
    _days(range(1, 6), "11:00", "18:00"),
]
for _pattern in _WEEKLY_PATTERNS:
    _pattern.sort()
del _pattern

_FORMAT_PATTERNS: list[tuple[list[str], int]] = [
    (["video"], 4),
    (["video", "phone"], 3),
    (["video", "in_person"], 5),
    (["video", "phone", "in_person"], 3),
    (["in_person"], 2),
    (["in_person", "phone"], 1),
    (["phone"], 1),
]

_SPECIALTY_PHRASES: dict[str, str] = {
    # Phrases without an inner "and", so they join cleanly into "a, b and c".
    "anxiety": "anxiety",
    "depression": "low mood",
    "relationships": "relationship difficulties",
    "trauma": "trauma",
    "stress": "burnout",
    "grief": "grief",
    "self-esteem": "low self-esteem",
    "addiction": "addiction",
    "eating": "eating difficulties",
    "ocd": "OCD",
    "family": "parenting challenges",
    "lgbtq": "LGBTQ+ identity",
    "sleep": "sleep problems",
    "adhd": "adult ADHD",
}

_APPROACH_PHRASES: dict[str, str] = {
    "cbt": "cognitive behavioural therapy (CBT)",
    "psychodynamic": "psychodynamic therapy",
    "humanistic": "person-centred therapy",
    "act": "acceptance and commitment therapy (ACT)",
    "emdr": "EMDR",
    "dbt": "DBT skills",
    "systemic": "systemic therapy",
    "gestalt": "Gestalt therapy",
    "schema": "schema therapy",
    "integrative": "integrative methods",
}

_LANGUAGE_LABELS: dict[str, str] = dict(LANGUAGES)

_BIO_OPENERS = [
    "I'm a {title} in {city} with {years} years of experience.",
    "I have worked as a {title} for {years} years, and I now practise in {city}.",
    "Based in {city}, I'm a {title} who has supported adults for {years} years.",
    "Welcome, I'm {first}, a {title} working in {city}.",
    "Hello, I'm {first}. I've been a {title} for {years} years, most of them in {city}.",
]
_BIO_FOCUS = [
    "Most of the people I see come to me with {specs}.",
    "I have a particular interest in {specs}.",
    "My work focuses on {specs}.",
    "Clients often reach out to me about {specs}.",
    "I especially enjoy working with people facing {specs}.",
]
_BIO_APPROACH = [
    "I draw on {apprs}, adapted to what you need.",
    "My approach combines {apprs} with a warm, collaborative style.",
    "In sessions I use {apprs}, and I'm always open about why.",
    "I'm trained in {apprs}, but the relationship between us comes first.",
]
_BIO_STYLE = [
    "Sessions are paced by you, and **you decide what we talk about**.",
    "I value honesty, warmth and a bit of humour, even when things are hard.",
    "We'll set goals together and check regularly that therapy is helping.",
    "I like therapy to feel practical, with small steps you can try between sessions.",
    "Many of my clients have never tried therapy before, and that's absolutely fine.",
    "I often work with people juggling **demanding jobs and family life**.",
    "I offer a calm, non-judgemental space where nothing is too small to bring.",
]
_BIO_CONSULT_FREE = [
    "In a **free 30-minute consultation** we'll talk about what brings you here and whether we're a good fit.",
    (
        "Book a free 30-minute consultation to ask questions and get a feel for how I work; "
        "there's no obligation to continue."
    ),
    (
        "The free 30-minute consultation is a relaxed first conversation: you share what's going on, "
        "and we decide on next steps together."
    ),
]
_BIO_CONSULT_PAID = [
    (
        "I don't offer a separate free consultation; our first session is a no-obligation "
        "getting-to-know-each-other meeting."
    ),
    "Instead of a free consultation, I start with a full intake session where we clarify your goals together.",
]
_BIO_NOT_ACCEPTING = "I'm not taking new clients at the moment, but places open up regularly."


def _join(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def _title_tables() -> dict[str, tuple[list[tuple[str, str, str]], list[int]]]:
    tables: dict[str, tuple[list[tuple[str, str, str]], list[int]]] = {}
    for country in CURRENCY_BY_COUNTRY:
        options: list[tuple[str, str, str]] = []
        cum_weights: list[int] = []
        total = 0
        for title, licence_type, code, countries, weight in _TITLE_OPTIONS:
            if countries is None or country in countries:
                total += weight
                options.append((title, licence_type, code))
                cum_weights.append(total)
        tables[country] = (options, cum_weights)
    return tables


_TITLES_BY_COUNTRY = _title_tables()
_FORMAT_CHOICES = [formats for formats, _ in _FORMAT_PATTERNS]
_FORMAT_CUM_WEIGHTS: list[int] = []
_running = 0
for _, _weight in _FORMAT_PATTERNS:
    _running += _weight
    _FORMAT_CUM_WEIGHTS.append(_running)
del _running

_SPECIALTY_SLUGS = [slug for slug, _ in SPECIALTIES]
_APPROACH_SLUGS = [slug for slug, _ in APPROACHES]
_LANGUAGE_SLUGS = [slug for slug, _ in LANGUAGES]
_FIRST_SLUGS = [slugify(name) for name in FIRST_NAMES]
_LAST_SLUGS = [slugify(name) for name in LAST_NAMES]


def generate_specialists(n: int, seed: int = 42) -> Iterator[dict]:
    """Yield ``n`` fictional specialist dicts (same keys as SPECIALISTS), deterministic per seed.

    Slugs look like ``"anna-muller-17"``; the numeric suffix is the 1-based position, so
    slugs are unique within one run and never clash with the hand-written profiles.
    """
    rng = random.Random(seed)
    randrange = rng.randrange
    choice = rng.choice
    sample = rng.sample
    rand = rng.random
    n_cities = len(CITIES)
    n_first = len(FIRST_NAMES)
    n_last = len(LAST_NAMES)

    for i in range(n):
        fi = randrange(n_first)
        li = randrange(n_last)
        first = FIRST_NAMES[fi]
        slug = f"{_FIRST_SLUGS[fi]}-{_LAST_SLUGS[li]}-{i + 1}"

        city_index = randrange(n_cities)
        city = CITIES[city_index]
        country = city.country_code
        currency = CURRENCY_BY_COUNTRY[country]

        options, cum_weights = _TITLES_BY_COUNTRY[country]
        title, licence_type, code = rng.choices(options, cum_weights=cum_weights)[0]
        years = randrange(2, 31)
        is_doctor = title == "Psychiatrist" or (title == "Clinical psychologist" and rand() < 0.3)
        display_name = f"{'Dr. ' if is_doctor else ''}{first} {LAST_NAMES[li]}"

        specialties = sample(_SPECIALTY_SLUGS, randrange(2, 5))
        approaches = sample(_APPROACH_SLUGS, randrange(1, 4))

        local = _CITY_LANGUAGE_OVERRIDE.get(city.city) or _LOCAL_LANGUAGE[country]
        languages = [local] if local else ["en"]
        if "en" not in languages and rand() < 0.85:
            languages.append("en")
        if rand() < 0.25:
            extra = choice(_LANGUAGE_SLUGS)
            if extra not in languages:
                languages.append(extra)

        formats = list(rng.choices(_FORMAT_CHOICES, cum_weights=_FORMAT_CUM_WEIGHTS)[0])

        low, high, step = _FEE_RANGES[currency]
        fee_minor = randrange(low, high + 1, step)

        offers_free = rand() < 0.85
        accepting = rand() < 0.9

        # Templated bio.
        title_lower = title[0].lower() + title[1:]
        parts = [
            choice(_BIO_OPENERS).format(title=title_lower, city=city.city, years=years, first=first),
            choice(_BIO_FOCUS).format(specs=_join([_SPECIALTY_PHRASES[s] for s in specialties])),
            choice(_BIO_APPROACH).format(apprs=_join([_APPROACH_PHRASES[a] for a in approaches])),
            choice(_BIO_STYLE),
            choice(_BIO_CONSULT_FREE) if offers_free else choice(_BIO_CONSULT_PAID),
            f"I work in {_join([_LANGUAGE_LABELS[code_] for code_ in languages])}.",
        ]
        if not accepting:
            parts.append(_BIO_NOT_ACCEPTING)

        address = None
        if "in_person" in formats:
            street_format, stems = _STREETS[country]
            address = street_format.format(stem=choice(stems), n=randrange(1, 200)) + f", {city.city}"

        yield {
            "slug": slug,
            "display_name": display_name,
            "title": title,
            "licence_type": licence_type,
            "licence_number": f"{country}-{code}-{randrange(10000, 100000)}",
            "licence_jurisdiction": LICENCE_JURISDICTIONS[city.city],
            "years_of_practice": years,
            "specialties": specialties,
            "approaches": approaches,
            "languages": languages,
            "formats": formats,
            "city_index": city_index,
            "city": city.city,
            "country": country,
            "country_name": city.country_name,
            "timezone": city.timezone,
            "fee_minor": fee_minor,
            "currency": currency,
            "offers_free_consultation": offers_free,
            "verified": rand() < 0.97,  # nearly all listed; a few wait in the verification queue
            "accepting_new_clients": accepting,
            "bio_markdown": " ".join(parts),
            "weekly_hours": list(choice(_WEEKLY_PATTERNS)),
            "video_link": VIDEO_LINK_BASE + slug if "video" in formats else None,
            "address": address,
        }
