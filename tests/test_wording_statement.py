"""Statement wording (audit5 findings 16 and 17), in text, Markdown and HTML (the PDF prints
the HTML), both locales.

16. With `hold when`, the period's total is what it pays, not what it earned: the headline
    says "Paid this period", then what the period earned, held and released.
17. A team_total's rows not listed are the team's members (their values added up in the team
    total), not "other rows which count for none of your amounts".

draw-hold-trueup, payee h1 (annual variable 20,000.00, target 400,000.00 a year, so 100,000.00
a quarter; advance = min(bookings / 100,000, 80%) x 20,000 / 4, held while a deal of the
quarter is not invoiced), by hand:
- 2025-Q2: d2 50,000.00 not invoiced: 50% x 5,000 = 2,500.00 earned, all held, 0.00 paid;
- 2025-Q3: d3 120,000.00 invoiced: 120% capped at 80% = 4,000.00 earned, plus the 2,500.00
  held in Q2 released: 6,500.00 paid;
- 2025-Q4: no hold (d4 invoiced): advance 4,000.00 + true_up 5,500.00 = 9,500.00, earned is paid.
team-pool-prorate, payee a1 in 2025-Q1: team A is a1, a2, a3 (three members eligible in Q1),
team_total(bookings) = 10,000.00 + 5,000.00 + 3,500.50 = 18,500.50.
"""
from __future__ import annotations

import html
import re
import shutil

import pytest

from conftest import ROOT, run_cli

HOLD = ROOT / "tests" / "data" / "audit5" / "draw-hold-trueup"
TEAM = ROOT / "tests" / "data" / "audit5" / "team-pool-prorate"

HEADLINES = {
    ("en", "2025-Q2"): ["Paid this period: €0.00",
                        "Earned this period: €2,500.00 · held for a later period: €2,500.00"],
    ("en", "2025-Q3"): ["Paid this period: €6,500.00",
                        "Earned this period: €4,000.00 · released from earlier periods: €2,500.00"],
    ("fr", "2025-Q2"): ["Payé sur la période : 0,00 €",
                        "Gagné sur la période : 2 500,00 € · retenu pour une période ultérieure : 2 500,00 €"],
    ("fr", "2025-Q3"): ["Payé sur la période : 6 500,00 €",
                        "Gagné sur la période : 4 000,00 € · libéré des périodes antérieures : 2 500,00 €"],
}


def _statement(plan, data, payee, period, fmt, lang):
    res = run_cli("statement", plan, "--data", data, "--payee", payee, "--period", period,
                  "--format", fmt, "--locale", lang)
    assert res.returncode == 0, res.stderr
    return res.stdout


def _plain(text: str) -> str:
    """Markdown's and HTML's text as words: no tags, no `**`, entities decoded, one space."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", text)).replace("**", "")
    return re.sub(r"\s+", " ", text.replace("\u202f", " ").replace("\xa0", " "))


@pytest.mark.parametrize("fmt", ["text", "md", "html"])
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_period_with_holds_says_what_it_pays_earns_holds_and_releases(fmt, lang):
    for period in ("2025-Q2", "2025-Q3"):
        out = _plain(_statement(HOLD / "plan.kam", HOLD / "data", "h1", period, fmt, lang))
        for line in HEADLINES[(lang, period)]:
            assert _plain(line) in out, (period, line, out[:600])
        earned_alone = "Earned this period: €" if lang == "en" else "Gagné sur la période : "
        # the earned amount is never the headline's total any more
        total = "€0.00" if period == "2025-Q2" else "€6,500.00"
        if lang == "en":
            assert f"Earned this period: {total}" not in out and earned_alone in out


@pytest.mark.parametrize("lang, label", [("en", "Earned this period: €9,500.00"),
                                         ("fr", "Gagné sur la période : 9 500,00 €")])
def test_a_period_without_holds_keeps_earned_as_its_total(lang, label):
    out = _plain(_statement(HOLD / "plan.kam", HOLD / "data", "h1", "2025-Q4", "text", lang))
    assert _plain(label) in out
    assert "Paid this period" not in out and "Payé sur la période" not in out
    assert "held for a later period" not in out and "retenu pour" not in out


def test_the_on_target_share_is_of_what_the_period_earned(tmp_path):
    """With an on-target variable of 5,000.00 a quarter (20,000 / 4), Q2 earned 2,500.00 of
    it (50%), though it paid 0.00; Q3 earned 4,000.00 (80%), though it paid 6,500.00."""
    plan = tmp_path / "plan.kam"
    shutil.copytree(HOLD / "data", tmp_path / "data")
    plan.write_text((HOLD / "plan.kam").read_text(encoding="utf-8")
                    + "let on_target_variable = payee.annual_variable / 4\n", encoding="utf-8")
    q2 = _statement(plan, tmp_path / "data", "h1", "2025-Q2", "text", "en")
    q3 = _statement(plan, tmp_path / "data", "h1", "2025-Q3", "text", "en")
    assert "On-target variable: €5,000.00; you earned 50% of it" in q2
    assert "On-target variable: €5,000.00; you earned 80% of it" in q3


@pytest.mark.parametrize("fmt", ["text", "md", "html"])
@pytest.mark.parametrize("lang, line", [
    ("en", "the values of the 3 team members (yours is above), added up in the team total and not listed here"),
    ("fr", "les valeurs des 3 membres de l’équipe (la vôtre est ci-dessus), comptées dans le total de l’équipe "
           "et non listées ici")])
def test_a_team_totals_members_are_named_as_such(fmt, lang, line):
    out = _plain(_statement(TEAM / "plan.kam", TEAM / "data", "a1", "2025-Q1", fmt, lang))
    assert "18,500.50" in out or "18 500,50" in out
    assert _plain(line) in out
    assert "3 other rows" not in out and "3 autres lignes" not in out
    # the other members' values stay private: a2's 5,000.00 and a3's 3,500.50 are not shown
    assert not re.search(r"5,000\.00|5 000,00|3,500\.50|3 500,50", out)


def test_other_rows_of_a_set_keep_their_wording():
    """`mine` (every deal of h1) selects 4 rows; the one of Q2 is listed, the 3 others are of
    other quarters: not a team, the sentence is the one of a set selected for everyone."""
    out = _statement(HOLD / "plan.kam", HOLD / "data", "h1", "2025-Q2", "text", "en")
    assert "and 3 other rows, which count for none of your amounts (not listed)" in out


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_each_wording_of_rows_not_listed(lang):
    """The four team sentences and the set's, by the rows listed and the rows left out."""
    from kamrules.report import i18n, words
    from kamrules.report.derivation import Step
    from kamrules.report.statement_text import others_line
    L = i18n.get(lang)

    def line(kind, listed, others):
        return others_line(L, Step("x", kind, 0, words.Said("x", {}), [], ["row"] * listed, 0, [], None, others))

    want = {
        "en": [(("team", 0, 1), "your value (above) is the whole team total"),
               (("team", 0, 4), "the values of the 4 team members (yours is above), added up in the team total "
                                "and not listed here"),
               (("team", 1, 1), "and 1 other team member's value, added up in the team total and not listed here"),
               (("team", 1, 2), "and 2 other team members' values, added up in the team total and not listed here"),
               (("let", 1, 2), "and 2 other rows, which count for none of your amounts (not listed)")],
        "fr": [(("team", 0, 1), "votre valeur (ci-dessus) est tout le total de l’équipe"),
               (("team", 0, 4), "les valeurs des 4 membres de l’équipe (la vôtre est ci-dessus), comptées dans le "
                                "total de l’équipe et non listées ici"),
               (("team", 1, 1), "et la valeur d’un autre membre de l’équipe, comptée dans le total de l’équipe et "
                                "non listée ici"),
               (("team", 1, 2), "et les valeurs de 2 autres membres de l’équipe, comptées dans le total de l’équipe "
                                "et non listées ici"),
               (("let", 1, 2), "et 2 autres lignes, qui ne comptent dans aucun de vos montants (non listées)")],
    }[lang]
    for args, text in want:
        assert line(*args) == text
