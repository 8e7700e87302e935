"""Statements in French: every label of the derivation for auditors goes through the gettext
catalogs and every number through the locale, with the digits the English derivation shows;
no English label is left in a French statement of the bundled plans; the plans that have an
on-target variable declare it, and a plan without one says nothing about it to the KAM."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest

from conftest import PLANS, ROOT, run_cli

NNBSP, NBSP = "\u202f", "\xa0"  # French group and percent separator, before € (CLDR)


def _case(plan: str):
    folder = PLANS / "tests" / plan
    return next(p for p in sorted(folder.iterdir()) if p.name.startswith(("acceptance", "example")))


# plans covering every kind of derivation step: decisions and assignments (abtasty), pools
# (pharma), caps, `when` and paid() (media), floors and min() (draw), team totals and
# if-branches (team-bonus), prorate (prorated), a validity window (emotion), colour grids
PLANS_FR = ["abtasty-kam", "pharma-rire", "media-advance", "recoverable-draw", "team-bonus",
            "prorated-variable", "emotion-ai-challenge", "equipment-colour-grid"]


def _english_fragments() -> dict:
    """The English words of the catalog's messages that the French translation does not keep:
    fragment -> message id (`{name} is {value}` gives `is`)."""
    from kamrules.report.i18n import catalog
    fr = catalog("fr")
    out = {}
    for msgid, text in fr.items():
        if not isinstance(msgid, str) or msgid == text:
            continue
        for part in re.split(r"\{\w+\}|`[^`]*`", msgid):
            part = part.strip(" :;,.()|`'-=")
            if re.search(r"[a-z]{2}", part) and not re.search(rf"(?<!\w){re.escape(part)}(?!\w)", text):
                out.setdefault(part, msgid)
    return out


def _said_text(md: str) -> str:
    """A Markdown statement without what it quotes: the payee's name and the plan's (title
    and subtitle), plan code (`...`) and a curve's row as written (`| 100% to < 110% |`),
    provenance lines."""
    md = re.sub(r"`[^`\n]*`|\\\|.*?\\\|", "", md.split("\n", 3)[3])
    return "\n".join(line for line in md.splitlines() if not re.match(r"- (plan )?\S+ \S+\.(kam|csv): [0-9a-f]{64}$", line))


@pytest.mark.parametrize("plan", PLANS_FR)
def test_french_statements_say_no_english_label(plan, tmp_path):
    from kamrules.report import i18n
    fr = i18n.get("fr")
    fr.missing.clear()
    out = tmp_path / plan
    r = run_cli("statement", PLANS / f"{plan}.kam", "--data", _case(plan), "--all", "--locale", "fr",
                "--format", "md", "-o", out)
    assert r.returncode == 0, r.stderr
    assert not fr.missing, f"said without a French translation: {sorted(fr.missing)}"
    fragments = _english_fragments()
    assert {"is", "pays", "selects", "row", "over", "already paid for", "the cap"} <= set(fragments)
    for f in sorted(out.iterdir()):
        text = _said_text(f.read_text(encoding="utf-8"))
        for part, msgid in fragments.items():
            hit = re.search(rf"(?<![\w.]){re.escape(part)}(?![\w.])", text)
            assert hit is None, (f"{f.name}: English `{part}` (from {msgid!r}) in: "
                                 + text[max(0, hit.start() - 60):hit.end() + 60])


def test_derivation_values_keep_every_digit_in_the_locale():
    from kamrules.core.numeric import Money
    from kamrules.report import i18n, words
    en, fr = i18n.get("en"), i18n.get("fr")
    third = Decimal(1) / Decimal(3)  # non-terminating: 28 significant digits, all shown
    assert words.value(third, None, en) == "0." + "3" * 28
    assert words.value(third, None, fr) == "0," + "3" * 28
    assert words.value(Decimal(20000) / Decimal(3), None, fr) == f"6{NNBSP}666," + "6" * 23 + "7"
    # rates: four decimals of a percent, as in English
    assert words.value(third, "rate", en) == "33.3333%"
    assert words.value(third, "rate", fr) == f"33,3333{NNBSP}%"
    assert words.value(Money(Decimal("12600"), "EUR"), None, en) == "12,600.00 EUR"
    assert words.value(Money(Decimal("12600"), "EUR"), None, fr) == f"12{NNBSP}600,00{NBSP}€"
    assert words.value([1, 2, 3], None, fr) == "3 lignes"
    assert words.value(True, None, fr) == "vrai"
    # a note of the engine, said in French with its values in French signs
    note = words.engine_note("weight 0.125 of 7")
    assert words.say(fr, note) == "poids 0,125 sur 7" and words.say(en, note) == "weight 0.125 of 7"
    note = words.engine_note("payout_rate: row 3: | 100% to < 110% |")
    assert words.say(fr, note) == "payout_rate : ligne 3 : | 100% to < 110% |"
    slices = "slices: row 1: 80000.00 EUR x 5% = 4000.00 EUR; row 2: 20000.00 EUR x 10% = 2000.00 EUR"
    assert words.say(en, words.engine_note(slices)) == slices
    assert words.say(fr, words.engine_note(slices)).replace(NNBSP, " ").replace(NBSP, " ") == (
        "tranches : ligne 1 : 80 000,00 € x 5 % = 4 000,00 € ; ligne 2 : 20 000,00 € x 10 % = 2 000,00 €")
    assert words.say(fr, words.engine_note("something else")) == "something else"
    # notes are read once per text: a text read before, then inside a note, is still no note
    assert words.engine_note("nothing known") == "nothing known"
    for _ in range(2):
        assert words.say(fr, words.engine_note("colour_rate: nothing known")) == "colour_rate: nothing known"


def test_abtasty_derivation_in_french(tmp_path):
    r = run_cli("statement", PLANS / "abtasty-kam.kam", "--data", ROOT / "examples" / "01-abtasty-nrr-upsell",
                "--payee", "kam-001", "--format", "text", "--locale", "fr")
    assert r.returncode == 0, r.stderr
    out = r.stdout.replace(NNBSP, " ").replace(NBSP, " ")
    # 70% x 10,000 x 180% = 12,600 (nrr); portfolio 200,000 + 150,000 + 80,000 + 60,000 + 10,000
    for line in ("nrr paie 12 600,00 €", "nrr_weight vaut 70 %", "la somme sur 5 lignes de arr : 500 000,00 €",
                 "acc-101 (arr ligne 2) : 200 000,00 €", "won retient 5 lignes", "nrr_target vaut 1,05",
                 "payout_rate à nrr_attainment = 110 % : ligne 4 : | >= 110% | donne 180 %",
                 "payout_rate(110 %) lit ligne 4 : | >= 110% | et donne 180 %"):
        assert line in out, line
    # the quarter's on-target variable is 40,000 / 4: 18,600 / 10,000 = 186%
    assert "Variable cible : 10 000,00 € ; vous en avez gagné 186 %" in out


def test_no_on_target_variable_is_not_lectured(tmp_path):
    """fx-commission declares no on-target variable: its headline says nothing about one."""
    r = run_cli("statement", PLANS / "fx-commission.kam", "--data", _case("fx-commission"), "--payee", "us-1",
                "--format", "text", "--locale", "fr")
    assert r.returncode == 0, r.stderr
    assert "cible" not in r.stdout and "on_target" not in r.stdout
    assert "Gagné sur la période" in r.stdout


def test_bundled_plans_with_an_annual_variable_declare_their_on_target():
    """A plan whose payees have an annual_variable declares the on-target variable the
    statements read, and every plan stays free of warnings (KR503 knows it is read)."""
    for path in sorted(PLANS.glob("*.kam")):
        text = path.read_text(encoding="utf-8")
        if "annual_variable: Money" in text:
            assert re.search(r"^let on_target_variable = ", text, re.M), path.name
        r = run_cli("check", path)
        assert r.returncode == 0 and " 0 warning(s)" in r.stderr, (path.name, r.stderr)


def test_every_message_of_the_english_catalog_has_its_french_translation():
    """The en catalog lists every message (the derivation's too, said only by some plans)."""
    from babel.messages.pofile import read_po
    from kamrules.report.i18n import catalog
    for lang in ("en", "fr"):  # both well formed: Babel prints a warning on stdout for a broken entry
        with open(ROOT / "kamrules" / "report" / "locale" / lang / "LC_MESSAGES" / "kamrules.po", "rb") as fh:
            read_po(fh, abort_invalid=True)
    with open(ROOT / "kamrules" / "report" / "locale" / "en" / "LC_MESSAGES" / "kamrules.po", "rb") as fh:
        ids = {m.id for m in read_po(fh) if m.id}
    assert {"{name} is {value}", "slices: {slices}", "rounded {mode} from the exact {exact}"} <= ids
    assert not sorted(ids - set(catalog("fr")))
