"""Words people use for their problems, per specialty: the directory search's synonym table.

Maintained here and nowhere else. Keys are specialty slugs of ``vocabulary.SPECIALTIES`` (a unit
test checks that every specialty has an entry and every key exists); values are words or short
phrases, written as people type them: ``search.fold`` normalises both sides (case, accents,
punctuation: "self-esteem" is "self esteem"), so list one spelling. A query word (or phrase)
found here finds every profile listing that specialty, ranked before profiles that only mention
the word; it also still matches the word itself in a profile's text.

Keep entries specific: a word listed here stands for the specialty in every query ("focus" or
"down" would, too).
"""
from __future__ import annotations

SPECIALTY_SYNONYMS: dict[str, tuple[str, ...]] = {
    "anxiety": (
        "anxiety", "anxious", "anxieties", "panic", "panic attack", "panic attacks", "worry", "worries",
        "worried", "worrying", "nervous", "nervousness", "fear", "fears", "phobia", "phobias", "social anxiety",
    ),
    "depression": (
        "depression", "depressed", "depressive", "sad", "sadness", "low mood", "feeling low", "feeling down",
        "hopeless", "hopelessness", "unhappy", "melancholy",
    ),
    "relationships": (
        "relationship", "relationships", "couple", "couples", "marriage", "married", "marital", "partner",
        "partners", "divorce", "separation", "breakup", "break up", "infidelity", "affair", "dating",
    ),
    "trauma": (
        "trauma", "traumas", "traumatic", "traumatised", "traumatized", "ptsd", "cptsd", "complex ptsd", "abuse",
        "abused", "assault", "violence", "flashbacks", "post traumatic",
    ),
    "stress": (
        "stress", "stressed", "burnout", "burn out", "burned out", "burnt out", "overwhelmed", "exhausted",
        "exhaustion", "work stress", "pressure",
    ),
    "grief": (
        "grief", "grieving", "loss", "losses", "bereavement", "bereaved", "mourning", "widow", "widowed",
        "miscarriage",
    ),
    "self-esteem": (
        "self esteem", "selfesteem", "self worth", "self confidence", "confidence", "insecure", "insecurity",
        "self image", "shame",
    ),
    "addiction": (
        "addiction", "addictions", "addicted", "addictive", "alcohol", "alcoholism", "alcoholic", "drinking",
        "drugs", "drug use", "substance", "substances", "gambling", "dependency", "dependence", "recovery",
    ),
    "eating": (
        "eating", "eating disorder", "eating disorders", "anorexia", "anorexic", "bulimia", "bulimic", "binge",
        "binge eating", "bingeing", "arfid", "food", "body image",
    ),
    "ocd": (
        "ocd", "obsessive", "obsessions", "obsession", "compulsive", "compulsions", "compulsion",
        "intrusive thoughts",
    ),
    "family": (
        "family", "families", "parenting", "parent", "parents", "mother", "father", "children", "child", "kids",
        "teenager", "teenagers", "adolescent", "adolescents", "postpartum", "postnatal",
    ),
    "lgbtq": (
        "lgbtq", "lgbt", "lgbtqia", "lgbtq+", "queer", "gay", "lesbian", "bisexual", "transgender",
        "non binary", "nonbinary", "coming out", "gender identity", "sexual orientation",
    ),
    "sleep": (
        "sleep", "sleeping", "sleepless", "insomnia", "nightmares", "cant sleep", "can t sleep",
    ),
    "adhd": (
        "adhd", "add adhd", "attention deficit", "hyperactivity", "hyperactive", "neurodivergent",
        "neurodiversity",
    ),
}
