"""The word lists of the Appendix F password policy (`protocol.password_policy`).

Short on purpose: the common words, first names, surnames, company references and system codes an
attacker tries first (F.1.g.1, 3, 6, 8). What is specific to a device or a person comes with each
check (`PasswordContext`).
"""

from __future__ import annotations

__all__ = ["COMPANIES", "DICTIONARY", "SURNAMES", "SYSTEM_CODES"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


DICTIONARY = _words(
    """
    password passw secret letmein welcome master dragon monkey shadow sunshine princess
    football baseball soccer hello world login access trust admin qwerty azerty house home
    family summer winter spring autumn flower garden orange purple yellow silver golden black
    white green money power light water river ocean beach island mountain forest london paris
    england britain scotland wales ireland europe america china india africa computer internet
    network system server office window kitchen garage dollar pound euro cheese coffee
    chocolate cookie pepper butter banana apple lemon cherry tiger lion eagle falcon horse
    rabbit kitten puppy doggy turtle wizard magic angel heaven devil peace happy lucky love
    lover freedom justice secure security change please thanks charlie michael jennifer jessica
    thomas david james robert william richard joseph daniel matthew andrew joshua george oliver
    harry jack jacob noah charlie amelia olivia emily isla ava sophie grace lily chloe sarah
    laura emma hannah rebecca claire helen susan margaret elizabeth mary anne john paul peter
    mark steven simon stephen kevin brian gareth
    """
)
SURNAMES = _words(
    """
    smith jones williams taylor brown davies evans wilson thomas johnson roberts robinson
    thompson wright walker white edwards hughes green hall lewis harris clarke patel jackson
    wood turner martin cooper hill ward morris moore clark lee king baker harrison morgan allen
    james scott phillips watson davis parker price bennett young griffiths mitchell kelly cook
    carter richardson bailey collins bell shaw murphy miller cox richards khan marshall
    anderson simpson ellis adams singh begum wilkinson foster chapman powell webb rogers gray
    mason ali hunt hussain campbell matthews owen palmer holmes mills barnes knight lloyd
    butler russell barker fisher stevens jenkins murray dixon harvey graham pearson ahmed
    fletcher walsh kaur gibson howard andrews stewart elliott reynolds saunders payne fox ford
    pearce day brooks west lawrence cole atkinson bradley spencer gill dawson ball burton
    o'brien watts rose booth perry ryan grant wells armstrong francis rees hayes hart hudson
    newman barrett webster hunter gregory carr lowe page marsh riley dunn woods parsons berry
    stone reid holland hawkins harding porter robertson newton oliver reed kennedy williamson
    bird gardner shah dean lane cooke bates henderson parry burgess bishop walton burns
    nicholson shepherd ross cross long freeman warren nicholls hamilton byrne sutton mcdonald
    yates
    """
)
COMPANIES = _words(
    """
    britishgas british centrica scottishpower edf eon npower sse ovo octopus bulb smartdcc dcc
    elexon ofgem energy utility utilities supplier smartmeter smartenergy landis gyr itron
    elster honeywell secure siemens zigbee
    """
)
SYSTEM_CODES = _words(
    """
    admin root user guest engineer installer operator service config hht esme gsme ihd hub mpan
    mprn meter optical zigbee headend test demo default
    """
)
