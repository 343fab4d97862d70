# ruff: noqa: E501 -- the verbose regexes read best with one family of words per line
"""Direction from what the measure does: the verb and its object.

A rollback read as a win is the worst error for advocates, and a category's default direction is wrong
whenever the measure acts *against* the category's usual tool ("prohibit facial recognition") or *for* a
protection's removal ("repeal the oversight ordinance"). This module reads the operative verb of a title
and the object it acts on, and decides only where that pairing is certain:

* an **enabling** verb (require, establish, create, authorize, approve, renew, expand, purchase, join,
  honor ...) acting on an **enforcement tool** (detainers, 287(g), facial recognition, license plate
  readers, a gang database, cash bail, school resource officers, curfews, camping bans ...) restricts;
* a **limiting** verb (prohibit, ban, limit, restrict, end, terminate, withdraw from, repeal, abolish,
  eliminate, dissolve, defund, close ...) acting on an enforcement tool expands;
* an enabling verb acting on a **protection** (a review or oversight board, a sanctuary or welcoming
  ordinance, limits on detainers, a legal defense fund, language access, municipal ID, expungement,
  alternative responders ...) expands;
* a limiting verb acting on a protection restricts.

The verb must come before its object within one clause (no ``;`` between them, the object starting at
most ``WINDOW`` characters after the verb). An object that runs on past those characters ("repealing
Section 7-73-050 of the Code (Limits on Cooperation with Civil Immigration Detainers)") is the verb's only
when no other verb stands between them ("adopt an ordinance amending Chapter 2.99 to prohibit city use of
face recognition": *prohibit* acts on it). The first certain pairing in the title decides; when none is found the caller falls
back on the learned direction model and the rules' cues. Every decision carries its reason in words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Characters between the end of a verb and the start of its object (the object itself may run on).
WINDOW = 90
#: How far past ``WINDOW`` an object that starts inside it may run on ("limits on cooperation with civil
#: immigration detainers" is 55 characters).
_OBJECT_LENGTH = 120

_ENABLING = r"""
    require[sd]?|requiring|establish(?:es|ed|ing)?|creat(?:e|es|ed|ing)|authoriz(?:e|es|ed|ing)|
    approv(?:e|es|ed|ing|al\ of)|leas(?:e|es|ed|ing)|renew(?:s|ed|ing|al\ of)?|expand(?:s|ed|ing)?|expansion\ of|extend(?:s|ed|ing)?|
    purchas(?:e|es|ed|ing)|acqui(?:re|res|red|ring|sition\ of)|procure(?:ment\ of)?|deploy(?:s|ed|ing|ment\ of)?|
    join(?:s|ed|ing)?|enter(?:s|ed|ing)?\ into|honou?r(?:s|ed|ing)?|comply(?:ing)?\ with|cooperat(?:e|es|ed|ing|ion)\ with|
    reinstat(?:e|es|ed|ing)|restor(?:e|es|ed|ing)|adopt(?:s|ed|ing)?|implement(?:s|ed|ing|ation\ of)?|fund(?:s|ed|ing)?|
    support(?:s|ed|ing)?|increas(?:e|es|ed|ing)|strengthen(?:s|ed|ing)?|impos(?:e|es|ed|ing)
"""
_LIMITING = r"""
    prohibit(?:s|ed|ing)?|prohibition\ (?:of|on)|ban(?:s|ned|ning)?|bar(?:s|red|ring)?|limit(?:s|ed|ing)?|
    limitations?\ on|restrict(?:s|ed|ing)?|restrictions?\ on|end(?:s|ed|ing)?|terminat(?:e|es|ed|ing|ion\ of)|
    withdraw(?:s|ing|al\ from)?|withdrew|repeal(?:s|ed|ing)?|abolish(?:es|ed|ing)?|eliminat(?:e|es|ed|ing|ion\ of)|
    dissolv(?:e|es|ed|ing)|disband(?:s|ed|ing)?|defund(?:s|ed|ing)?|clos(?:e|es|ed|ing|ure\ of)|
    rescind(?:s|ed|ing)?|cancel(?:s|led|ling)?|oppos(?:e|es|ed|ing)|reject(?:s|ed|ing)?|decriminaliz(?:e|es|ed|ing)|
    stop(?:s|ped|ping)?|cease|phase\ out|reduc(?:e|es|ed|ing)|weaken(?:s|ed|ing)?|suspend(?:s|ed|ing)?
"""

#: Objects whose enabling means more enforcement, surveillance or criminalisation.
_ENFORCEMENT = r"""
    (?:civil\ )?immigration\ detainers?|detainer\ requests?|detainers?|immigration\ holds?|ICE\ (?:detainers?|holds?)|
    287\s*\(g\)|warrant\ service\ officer|(?:cooperation|agreement|contract|partnership)s?\ with\ (?:ICE|U\.?S\.?\ Immigration)|
    (?:data\ )?sharing\ (?:[\w-]+\ ){0,4}with\ (?:ICE|federal\ immigration|immigration\ (?:authorities|enforcement|agents))|
    immigration\ (?:enforcement|detention)|immigrant\ detention|detention\ (?:center|facility|contract)s?|
    facial\ recognition|face\ recognition|biometric|license\ plate\ (?:readers?|recognition)|\bALPRs?\b|\bLPRs?\b|
    flock|shotspotter|gunshot\ detection|drones?|unmanned\ aerial|cell[-\ ]site\ simulators?|surveillance\ (?:cameras?|equipment|systems?)|
    gang\ (?:database|injunctions?|enforcement)|criminal\ group\ database|cash\ bail|money\ bail|bail\ schedule|
    school\ resource\ officers?|\bSROs?\b|police\ in\ schools|curfew|camping\ ban|(?:anti-)?camping|loitering|
    panhandling|criminal\ penalt(?:y|ies)|stop[-\ ]and[-\ ]frisk|no[-\ ]knock\ warrants?|chokeholds?|tear\ gas|
    vice\ (?:squad|unit)|jail\ expansion|new\ jail
"""
#: Objects whose enabling means more protection, oversight or access.
_PROTECTION = r"""
    (?:civilian\ )?(?:police\ )?(?:review|oversight|accountability)\ (?:board|commission|agency|office)|
    (?:civilian|community)\ oversight|inspector\ general\ for\ (?:police|public\ safety)|
    surveillance\ (?:oversight|ordinance)|community\ control\ over\ police\ surveillance|\bCCOPS\b|
    (?:surveillance\ )?(?:technology\ )?(?:use|data)\ polic(?:y|ies)|surveillance\ technology\ polic(?:y|ies)|surveillance\ impact\ reports?|
    sanctuary(?:\ (?:city|policy|policies|ordinance|status))?|welcoming\ city|trust\ act|
    (?:limits?|restrictions?)\ on\ (?:immigration\ )?detainers?|(?:immigrant\ )?legal[-\ ](?:defense|services)\ fund|
    (?:limits?|restrictions?|prohibitions?)\ on\ (?:cooperation|collaboration|assistance)\ with\ (?:(?:civil|federal)\ )*(?:immigration\ (?:detainers?|enforcement|authorities|agents|holds?)|ICE\b)|
    deportation\ defense|removal\ defense|universal\ representation|language\ access|
    municipal\ (?:id|identification)|expunge(?:ment|ments)?|record\ sealing|cite[-\ ]and[-\ ]release|
    alternative\ (?:response|responders?)|crisis\ response\ teams?|bail\ (?:reform|fund)|
    right\ to\ record|disciplinary\ records|body[-\ ]camera\ footage\ release
"""

_FLAGS = re.IGNORECASE | re.VERBOSE
# TAXONOMY.md (surveillance_technology): requiring use policies and impact reports is CCOPS oversight
# (expands), but approving one use policy under an existing CCOPS law is neutral.
_USE_POLICY = re.compile(
    r"(?:surveillance\s+)?(?:technology\s+)?(?:use|data)\s+polic(?:y|ies)|surveillance\s+technology\s+polic(?:y|ies)",
    re.IGNORECASE,
)
_APPROVING = re.compile(r"approv(?:e|es|ed|ing|al of)|adopt(?:s|ed|ing)?", re.IGNORECASE)
_VERB = re.compile(rf"\b(?:(?P<enabling>{_ENABLING})|(?P<limiting>{_LIMITING}))\b", _FLAGS)
_OBJECT = re.compile(rf"(?:(?P<enforcement>{_ENFORCEMENT})|(?P<protection>{_PROTECTION}))", _FLAGS)
# "limit the use of facial recognition" acts on facial recognition; "the use of force" is not an object.
# "related to how the county will honor ..." describes a policy on the tool without saying which way.
_NEGATED = re.compile(r"\b(?:(?:not|never|no\ longer)|how(?:\s+[\w'-]+){0,3})\s+$", re.IGNORECASE)


@dataclass(frozen=True)
class DirectionCue:
    direction: str  # expands | restricts
    verb: str
    object: str
    reason: str


def _effect(verb_kind: str, object_kind: str) -> str:
    enabling = verb_kind == "enabling"
    enforcement = object_kind == "enforcement"
    return "restricts" if enabling == enforcement else "expands"


#: Staffing an existing body (appointments, confirmations, removals of members) changes no policy.
_APPOINTMENT = re.compile(
    r"\b(?:re-?)?(?:appointment|appoint|confirmation|confirm|nomination|removal|remove)\b"
    r"(?:(?!;).){0,200}?"
    r"\b(?:to serve (?:on|as)|as a member of|(?:to|from) the (?:[\w'-]+ ){0,6}(?:board|commission|committee))\b",
    re.IGNORECASE,
)


def read_direction(text: str) -> DirectionCue | None:
    """The direction that the first certain verb-object pairing of ``text`` decides, or ``None``."""
    text = text[:5_000]  # the operative verb of a measure is at its start; bounds the work on long text
    appointment = _APPOINTMENT.search(text[:400])
    if appointment:
        return DirectionCue(
            "neutral",
            appointment.group(0).split()[0],
            "a member of a body",
            "an appointment to an existing body: it staffs the body and changes no policy, so it is neutral",
        )
    verbs = [v for v in _VERB.finditer(text) if not _NEGATED.search(text[max(0, v.start() - 40) : v.start()])]
    for i, verb in enumerate(verbs):
        span = text[verb.end() : verb.end() + WINDOW + _OBJECT_LENGTH]
        clause = re.split(r"[;:]|\band to\b", span, maxsplit=1)[0]
        obj = _OBJECT.search(clause)
        if obj is None or obj.start() > WINDOW:
            continue
        if obj.end() > WINDOW and i + 1 < len(verbs) and verbs[i + 1].start() < verb.end() + obj.start():
            # an object that runs past the window is this verb's only with no verb in between ("adopt an
            # ordinance amending ... to prohibit city use of face recognition": prohibit acts on it)
            continue
        verb_kind = "enabling" if verb.group("enabling") else "limiting"
        object_kind = "enforcement" if obj.group("enforcement") else "protection"
        if (
            object_kind == "protection"
            and _USE_POLICY.fullmatch(obj.group(0))
            and _APPROVING.fullmatch(verb.group(0))
        ):
            return DirectionCue(
                "neutral", verb.group(0), obj.group(0),
                f'"{verb.group(0)} … {obj.group(0)}": approving a use policy under an existing surveillance '
                "oversight law governs a tool already in use, so it is neutral",
            )  # fmt: skip
        direction = _effect(verb_kind, object_kind)
        what = "an enforcement or surveillance tool" if object_kind == "enforcement" else "a protection"
        acts = "enables" if verb_kind == "enabling" else "limits"
        reason = f'"{verb.group(0)} … {obj.group(0)}": the measure {acts} {what}, so it {direction}'

        return DirectionCue(direction, verb.group(0), obj.group(0), reason)
    return None
