"""A seeded generator of newsy synthetic articles, with the bundled articles among them.

Every article comes from templates filled with random names, places, numbers and
topics, so BM25 and dense retrieval face real distractors: the topics share
the bundled articles' vocabulary (armed forces, snap elections, sanctions, amnesty,
nuclear plants, envoys, red lines) without restating their claims, and names the eval
set asks about (and expects a decline for) never appear, so the answers stay checkable.

Article i depends only on (seed, i): the 100-article corpus is a prefix of the
1,000-article one. Usage: python -m bench.corpus --articles 1000 --out bench/results/tmp/corpus-1000
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "index" / "sources"
DEFAULT_SEED = 20251121
TARGET_CHARS = 5000

FIRST = (
    "Adele Aiko Alba Alessandro Amara Amir Ana Anders Anouk Arjun Astrid Beatriz Bilal Bruno "
    "Camille Carmen Chidi Clara Dario Daniel Diego Elif Elena Emeka Emil Esther Fatima Felix "
    "Freya Gabriel Greta Hana Hannah Henrik Ibrahim Ines Isak Ivana Jakob Javier Joao Jonas "
    "Julia Kaito Kamala Karin Kwame Lars Leila Lena Liam Lucia Luis Maja Malik Marek Maria "
    "Mateo Mei Mikkel Miriam Nadia Naveen Nia Nikos Noor Olga Omar Oskar Paula Pedro Priya "
    "Rafael Rania Rosa Ruth Samir Sara Selin Sofia Sven Tariq Teresa Tomas Valeria Viktor "
    "Wanjiru Yara Yusuf Zainab Zofia"
).split()
LAST = (
    "Abbasi Adeyemi Albrecht Alvarez Andersen Arslan Baptiste Barros Bauer Bergstrom Bianchi "
    "Brennan Castillo Cervantes Chowdhury Costa Dahl Delacroix Dimitrov Dubois Duarte Eklund "
    "Esposito Falk Ferreira Fischer Fonseca Garcia Gashi Greco Haddad Halvorsen Hartmann "
    "Hoffmann Horvath Iqbal Jansen Jovanovic Kaplan Karlsson Kato Keller Kowalski Kruger "
    "Lambert Larsen Laurent Lindqvist Lopes Lund Mahmoud Marchetti Markovic Meyer Moreau "
    "Mwangi Nakamura Navarro Nielsen Novak Nowak Obi Okafor Olsen Ortega Osei Papadopoulos "
    "Pereira Petrov Quinn Rahman Ramos Reyes Ricci Rossi Santos Sato Schmidt Schubert Silva "
    "Sokolov Suzuki Szabo Tanaka Torres Ueda Varga Vasquez Vogel Wagner Weber Wojcik Yilmaz "
    "Zeller Zielinski"
).split()
COUNTRIES = (
    "France|Germany|Poland|Spain|Italy|Portugal|the Netherlands|Belgium|Austria|Sweden|Norway|"
    "Finland|Denmark|Ireland|Greece|Romania|Bulgaria|Croatia|Serbia|Georgia|Armenia|Kazakhstan|"
    "Canada|Mexico|Brazil|Argentina|Chile|Peru|Colombia|Nigeria|Kenya|Ghana|Egypt|Morocco|"
    "Ethiopia|South Africa|India|Bangladesh|Indonesia|Vietnam|Thailand|the Philippines|"
    "Malaysia|Japan|South Korea|New Zealand|Jordan|Tunisia|Senegal|Uruguay|Estonia|Latvia|"
    "Lithuania|Slovenia|Iceland|Mongolia|Nepal|Sri Lanka"
).split("|")
SYLLABLES = (
    "val mor ost ran bel lin dor kar sen tav mir gol bra ven tor lam sar nov rik zel "
    "pol ard est ulm fen gar hol mar dun tel ber vik ash cor lun"
).split()
ORGS = (
    "the central bank|the finance ministry|the energy regulator|the national grid operator|"
    "the competition authority|the statistics office|the supreme court|the election commission|"
    "the health ministry|the defence ministry|the transport agency|the port authority|"
    "the chamber of commerce|the teachers' union|the farmers' association|the city council|"
    "the audit office|the meteorological service|the foreign ministry|the interior ministry"
).split("|")
ROLES = (
    "finance minister|energy minister|defence minister|foreign minister|mayor|chief economist|"
    "central bank governor|union leader|opposition leader|prime minister|health minister|"
    "chief executive|spokesperson|senior analyst|professor of economics|head of the regulator|"
    "transport minister|regional governor|trade envoy|chief negotiator"
).split("|")
COMPANIES = ("Holdings|Group|Energy|Logistics|Systems|Foods|Motors|Telecom|Steel|Airlines").split(
    "|"
)
MONTHS = (
    "January February March April May June July August September October November December"
).split()
WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
TOPICS = (
    "economy",
    "energy",
    "defence",
    "elections",
    "courts",
    "health",
    "climate",
    "transport",
    "technology",
    "culture",
    "sport",
    "diplomacy",
)


class Slots:
    """Values for the template slots; the main actors stay the same within one article."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.country = rng.choice(COUNTRIES)
        self.city = self.place_name()
        self.person = self.full_name()
        self.company = f"{self.place_name()} {rng.choice(COMPANIES)}"
        self.org = rng.choice(ORGS)
        self.role = rng.choice(ROLES)
        self.year = rng.randint(2015, 2025)

    def place_name(self) -> str:
        parts = self.rng.sample(SYLLABLES, self.rng.choice((2, 2, 3)))
        return "".join(parts).capitalize()

    def full_name(self) -> str:
        return f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}"

    def number(self, low: int, high: int) -> str:
        return f"{self.rng.randint(low, high):,}"

    def value(self, name: str) -> str:
        rng = self.rng
        makers: dict[str, Callable[[], str]] = {
            "country": lambda: self.country,
            "country2": lambda: rng.choice([c for c in COUNTRIES if c != self.country]),
            "city": lambda: self.city,
            "town": self.place_name,
            "person": lambda: self.person,
            "other": self.full_name,
            "role": lambda: self.role,
            "role2": lambda: rng.choice(ROLES),
            "org": lambda: self.org,
            "org2": lambda: rng.choice(ORGS),
            "company": lambda: self.company,
            "small": lambda: str(rng.randint(2, 40)),
            "big": lambda: self.number(1_000, 900_000),
            "pct": lambda: f"{rng.randint(1, 95)}%",
            "rate": lambda: f"{rng.randint(0, 12)}.{rng.randint(0, 9)}%",
            "money": lambda: (
                rng.choice(("$", "€", "£")) + f"{rng.randint(2, 900)}{rng.choice(('m', 'bn'))}"
            ),
            "year": lambda: str(self.year),
            "pastyear": lambda: str(self.year - rng.randint(1, 12)),
            "month": lambda: rng.choice(MONTHS),
            "weekday": lambda: rng.choice(WEEKDAYS),
            "days": lambda: str(rng.choice((30, 45, 60, 90, 100, 120, 180))),
            "mw": lambda: self.number(200, 6_000),
        }
        return makers[name]()

    def fill(self, template: str) -> str:
        text = re.sub(r"\{(\w+)\}", lambda m: self.value(m.group(1)), template)
        return text[:1].upper() + text[1:]


TITLES: dict[str, tuple[str, ...]] = {
    "economy": (
        "{country} inflation eases to {rate} as {org} holds rates",
        "What the new budget means for households in {city}",
        "{company} to cut {big} jobs after profits fall {pct}",
    ),
    "energy": (
        "{city} power plant restart divides {country}",
        "Energy prices: {org} caps bills for {big} homes",
        "Who pays for the {money} grid upgrade in {country}?",
    ),
    "defence": (
        "{country} plans to grow its armed forces to {big} personnel",
        "Defence spending: {country} signs {money} fighter jet deal",
        "Explainer: what the new conscription law means in {country}",
    ),
    "elections": (
        "{country} calls snap elections within {days} days",
        "{person} leads polls ahead of {month} vote in {country}",
        "What we know about the disputed count in {city}",
    ),
    "courts": (
        "Court in {city} orders {company} to pay {money}",
        "Supreme court of {country} rules on amnesty law",
        "Trial of former {role} {person} opens in {city}",
    ),
    "health": (
        "Hospitals in {city} face {pct} rise in waiting times",
        "{country} health ministry approves new vaccine plan",
        "Doctors' strike: what patients in {city} need to know",
    ),
    "climate": (
        "Floods in {city} force {big} people from their homes",
        "Heatwave: {country} records its hottest {month} since {pastyear}",
        "{country} pledges to cut emissions by {pct} by 2035",
    ),
    "transport": (
        "New rail link between {city} and {town} delayed again",
        "{company} orders {small} aircraft in {money} deal",
        "Port of {city} strike halts {pct} of exports",
    ),
    "technology": (
        "{company} unveils chip plant in {city}",
        "Data breach at {company} exposes {big} customers",
        "{country} drafts rules for artificial intelligence",
    ),
    "culture": (
        "{city} museum returns {small} artefacts to {country2}",
        "Film festival in {city} opens with record {big} visitors",
        "Author {person} wins national book prize",
    ),
    "sport": (
        "{city} FC sack coach after {small} defeats",
        "{country} to host {year} athletics championships in {city}",
        "Marathon record falls in {city} as {person} wins",
    ),
    "diplomacy": (
        "What we know about the {country}-{country2} trade deal",
        "Explainer: the border dispute between {country} and {country2}",
        "{country} recalls ambassador as row with {country2} deepens",
    ),
}

SENTENCES: dict[str, tuple[str, ...]] = {
    "economy": (
        "Inflation in {country} fell to {rate} in {month}, according to {org}.",
        "The {role}, {person}, said the budget would raise {money} over {small} years.",
        "Economists had expected growth of {rate}, but the economy expanded by only {rate}.",
        "Unemployment rose to {rate}, the highest level since {pastyear}.",
        "{company} said its profits had fallen by {pct} and that {big} jobs would go.",
        "Wages in {city} have risen by {pct} since {pastyear}, but rents have risen faster.",
        "The government plans to raise the minimum wage by {pct} from {month}.",
        "Exports to {country2} grew by {pct}, driven by machinery and food.",
        "The debt of {country} now stands at {pct} of national output.",
        "Small businesses in {city} said higher energy costs had wiped out their margins.",
        "The currency lost {pct} of its value against the dollar over the year.",
        "Tax receipts came in {money} below forecasts, {org} said on {weekday}.",
    ),
    "energy": (
        "The {city} nuclear power plant, with {small} reactors, produces about {mw} megawatts.",
        "The plant supplies {pct} of the electricity used in {country}, {org} said.",
        "{org} said household bills would be capped at {money} a year for {big} homes.",
        "The wind farm off {city} will supply enough power for {big} households.",
        "Gas storage in {country} was {pct} full at the start of {month}.",
        "Engineers warned that the plant could not restart until the cooling pond was refilled.",
        "The grid operator said a {money} upgrade was needed to connect new solar parks.",
        "The {role}, {person}, said the country would be free of coal power by {year}.",
        "Inspectors from the atomic energy agency visited the site {small} times this year.",
        "Critics say the plan leaves consumers to pay for {pct} of the upgrade costs.",
    ),
    "defence": (
        "The army of {country} will grow to {big} soldiers by {year}, the ministry said.",
        "{country} has about {big} soldiers on active duty, according to {org2}.",
        "The {role}, {person}, said defence spending would reach {rate} of output by {year}.",
        "{country} signed a {money} deal for {small} fighter jets to be based near {city}.",
        "Conscription would be extended from {small} to {small} months.",
        "The new long-range missiles have a range of {big} kilometres.",
        "The alliance will hold joint exercises near {town} in {month}.",
        "Officials said troops would be withdrawn from the border area around {city}.",
        "A parliamentary report found that {pct} of the army's vehicles needed repair.",
        "Veterans' groups in {city} said the reforms came too late.",
    ),
    "elections": (
        "Voters in {country} will go to the polls on {weekday} {small} {month}.",
        "Snap elections would have to be held within {days} days, the constitution says.",
        "Polls put {person}'s party on {pct}, ahead of the governing coalition.",
        "Turnout in {city} reached {pct}, up from {pct} at the last election.",
        "The election commission said {big} ballots had been declared invalid.",
        "The {role2}, {other}, accused the government of delaying the vote.",
        "The last vote was postponed by {small} weeks after the floods.",
        "Observers from {small} countries will monitor the count.",
        "The opposition wants the vote moved to {month} so that exiles can register.",
        "{person} promised to cut taxes and to build {big} homes within {small} years.",
    ),
    "courts": (
        "The court in {city} ordered {company} to pay {money} in damages.",
        "Judges ruled by {small} votes to {small} that the amnesty law was constitutional.",
        "The former {role}, {person}, denies all {small} charges.",
        "Prosecutors said the fraud had cost taxpayers {money}.",
        "The international criminal court has issued a warrant for {other}.",
        "Lawyers for the families said they would appeal to the supreme court.",
        "The trial is expected to last until {month} {year}.",
        "The ruling means that {big} claims can now go ahead.",
        "A full amnesty would cover offences committed before {month} {pastyear}.",
        "{org} said it would study the judgment before deciding whether to appeal.",
    ),
    "health": (
        "Waiting times at hospitals in {city} rose by {pct} last year.",
        "The health ministry approved a vaccine campaign for {big} children.",
        "Doctors in {country} will strike for {small} days from {weekday}.",
        "The {role}, {person}, said {money} would go to mental health services.",
        "Cases of measles in {city} have risen to {big}, the highest since {pastyear}.",
        "Nurses said staff shortages had left {pct} of wards understaffed.",
        "A new hospital in {town} will open in {month} with {small} operating theatres.",
        "Patients are advised to contact their local clinic before travelling.",
        "Researchers at the university of {city} found the drug cut deaths by {pct}.",
    ),
    "climate": (
        "Floods in {city} forced {big} people from their homes over the weekend.",
        "Temperatures in {city} reached {small} degrees, a record for {month}.",
        "The weather service expects more rain in {city} tomorrow and on {weekday}.",
        "{country} pledged to cut emissions by {pct} by 2035 compared with {pastyear}.",
        "Farmers said the drought had destroyed {pct} of the wheat harvest.",
        "The river rose {small} metres in {small} hours, according to {org}.",
        "Insurers put the cost of the storm at {money}.",
        "The {role}, {person}, said {money} would be spent on flood defences.",
        "Scientists warned that glaciers in the region had lost {pct} of their ice.",
    ),
    "transport": (
        "The rail link between {city} and {town} is now due to open in {year}.",
        "{company} ordered {small} aircraft in a deal worth {money}.",
        "A strike at the port of {city} halted {pct} of the country's exports.",
        "Fares on buses in {city} will rise by {pct} from {month}.",
        "The motorway bridge near {town} will close for {small} weeks for repairs.",
        "Passenger numbers at {city} airport reached {big} in {month}.",
        "The transport agency said {pct} of trains ran late last year.",
        "The {role}, {person}, said the new metro line would cost {money}.",
    ),
    "technology": (
        "{company} will build a chip plant in {city} employing {big} people.",
        "A data breach at {company} exposed the details of {big} customers.",
        "The draft rules would ban some uses of artificial intelligence in {country}.",
        "Broadband now reaches {pct} of homes in rural areas.",
        "The {role}, {person}, said the tax on digital services would raise {money}.",
        "Start-ups in {city} raised {money} in the first half of {year}.",
        "Regulators fined {company} {money} for breaking competition rules.",
        "The satellite will be launched from {town} in {month}.",
    ),
    "culture": (
        "The museum in {city} will return {small} artefacts to {country2}.",
        "The film festival in {city} drew a record {big} visitors.",
        "Author {person} won the national book prize for a novel set in {town}.",
        "The theatre reopened after a {money} renovation that took {small} years.",
        "Tickets for the concert in {city} sold out in {small} minutes.",
        "The exhibition runs until {month} and includes {small} works never shown before.",
        "Critics praised the production, though some found it too long.",
    ),
    "sport": (
        "{city} FC sacked their coach after {small} defeats in a row.",
        "{country} will host the {year} athletics championships in {city}.",
        "{person} won the {city} marathon in a record time.",
        "The stadium in {city} will be expanded to {big} seats.",
        "The club was fined {money} for breaking spending rules.",
        "The team finished {small} points clear at the top of the table.",
        "Fans in {city} celebrated late into the night.",
    ),
    "diplomacy": (
        "Leaders of {country} and {country2} signed a trade agreement worth {money} in {city}.",
        "The foreign minister, {person}, said talks on the border dispute would resume in {month}.",
        "{country} recalled its ambassador from {country2} after the row over fishing rights.",
        "The summit in {city} ended without a joint statement.",
        "Sanctions on {small} companies accused of breaking the embargo came into force on "
        "{weekday}.",
        "The treaty still has to be ratified by the parliaments of both countries.",
        "Diplomats said a draft text had been circulated to {small} delegations.",
        "{country2} offered to mediate between the two sides.",
        "The ceasefire along the northern border has largely held since {month}.",
        "The agreement would allow {big} seasonal workers to move between the two countries.",
        "Envoy {other} spent {small} days in {town} meeting local officials.",
        "The visit was the first by a {role2} of {country2} since {pastyear}.",
        "Observers said the deal left several questions unanswered, including who pays for "
        "the new border posts.",
        "The aid package for refugees in {city} is worth {money}.",
        "{person} said the country's red lines had not changed.",
    ),
}

GENERIC = (
    '"We will not accept this," {person} told reporters in {city} on {weekday}.',
    "The {role2}, {other}, said the decision was long overdue.",
    "{org} declined to comment when contacted.",
    "Critics say the plan does little for people outside {city}.",
    "A spokesperson for {org} said talks would continue next week.",
    "The announcement came after {small} weeks of negotiations.",
    "Local media in {country} reported that the debate had been heated.",
    '"This is a turning point," said {other}, a {role2} in {city}.',
    "The figures were published by {org2} on {weekday}.",
    "It is not yet clear when the changes will take effect.",
    "Similar measures were tried in {country2} in {pastyear}, with mixed results.",
    "Residents of {town} said they had not been consulted.",
    "The story was updated on {weekday} with comments from {org2}.",
    "Analysts at {company} said the market had already priced in the move.",
    "{person} has held the post of {role} since {pastyear}.",
    '"People are tired of promises," said {other}, who runs a shop in {town}.',
    "The proposal must still be approved by parliament, where the government has a majority "
    "of {small} seats.",
    "Opinion polls suggest {pct} of voters support the change.",
    "The measure was first announced in {month} but was delayed by legal challenges.",
    "{org2} warned that the timetable was unrealistic.",
    "According to a leaked memo seen by reporters, officials had raised concerns in {month}.",
    "Protesters gathered outside the offices of {org} in {city} on {weekday} evening.",
    "The last time {country} faced a similar situation was in {pastyear}.",
    "{other}, a former {role2}, said the government had misjudged the public mood.",
    "Some {big} people signed a petition calling for a rethink.",
    "Neighbouring {country2} is watching the debate closely.",
    "Details of the plan are expected to be published before the end of {month}.",
    "{person} is due to meet counterparts from {country2} next {weekday}.",
    "A report by {org2} found that costs had been underestimated by {pct}.",
    "The decision affects about {big} people in and around {city}.",
    "Officials in {city} insisted that the figures were provisional.",
    '"We have been here before," said {other}, a {role2}.',
)


def make_article(seed: int, index: int) -> str:
    """One article as Markdown with front matter, about TARGET_CHARS long."""
    rng = random.Random(f"{seed}:{index}")
    topic, second = rng.sample(TOPICS, 2)
    slots = Slots(rng)
    title = slots.fill(rng.choice(TITLES[topic]))
    date = f"{slots.year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    templates = _Templates(rng, topic, second)
    paragraphs: list[str] = []
    size = 0
    while size < TARGET_CHARS - 250:
        count = 2 if not paragraphs else rng.randint(2, 4)
        paragraph = " ".join(slots.fill(templates.next()) for _ in range(count))
        paragraphs.append(paragraph)
        size += len(paragraph) + 2
    front = (
        f'---\ntitle: "{title}"\ndate: {date}\nauthor: "{slots.full_name()}"\n'
        f"tags: [{topic}, {slots.city}]\n---\n\n"
    )
    return front + "\n\n".join(paragraphs) + "\n"


class _Templates:
    """Sentence templates drawn without repeats: mostly the main topic, some asides."""

    def __init__(self, rng: random.Random, topic: str, second: str) -> None:
        self._rng = rng
        self._pools = {
            "main": list(SENTENCES[topic]),
            "second": list(SENTENCES[second]),
            "generic": list(GENERIC),
        }
        self._left: dict[str, list[str]] = {name: [] for name in self._pools}

    def next(self) -> str:
        roll = self._rng.random()
        name = "main" if roll < 0.5 else "second" if roll < 0.65 else "generic"
        if not self._left[name]:
            self._left[name] = self._rng.sample(self._pools[name], len(self._pools[name]))
        return self._left[name].pop()


def write_corpus(out: Path, articles: int, *, seed: int = DEFAULT_SEED) -> Path:
    """Write `articles` synthetic articles plus the bundled ones; reuse a complete corpus."""
    stamp = out / ".complete"
    expected = f"{articles}:{seed}:{_generator_version()}"
    if stamp.exists() and stamp.read_text() == expected:
        return out
    shutil.rmtree(out, ignore_errors=True)
    synthetic = out / "synthetic"
    synthetic.mkdir(parents=True)
    for i in range(articles):
        shard = synthetic / f"{i // 1000:02d}"
        shard.mkdir(exist_ok=True)
        (shard / f"article-{i:05d}.md").write_text(make_article(seed, i), encoding="utf-8")
    bundled = out / "bundled"
    bundled.mkdir()
    for source in sorted(BUNDLED.iterdir()):
        shutil.copyfile(source, bundled / source.name)
    stamp.write_text(expected)
    return out


def _generator_version() -> str:
    """Changes whenever this file changes, so a stale corpus is regenerated."""
    import hashlib

    return hashlib.sha1(Path(__file__).read_bytes()).hexdigest()[:12]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, required=True, help="synthetic articles")
    parser.add_argument("--out", type=Path, required=True, help="folder to write")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()
    out = write_corpus(args.out, args.articles, seed=args.seed)
    print(f"{args.articles} synthetic articles + {len(list(BUNDLED.iterdir()))} bundled in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
