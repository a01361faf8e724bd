"""ISO/IEC TS 27560 consent records in JSON-LD: read back by JSON-LD parsers, offline.

Each test builds a subject's history in a ledger, exports it, and reads the document
with pyld (expanded to RDF) and rdflib (a graph), asserting the DPV triples a reader
relies on: the schema, the purpose, the legal basis, the consent states and their times.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pyld import jsonld
from rdflib import RDF, Graph, Literal, Namespace, URIRef
from tests._rules import SELF, T0, consent, policy, utc
from tests.ledger._backends import KEY

from lawful import (
    ConsentGiven,
    ConsentMethod,
    ConsentWithdrawn,
    Duration,
    Event,
    Objection,
    Policy,
    TransferConsentGiven,
    TransferConsentWithdrawn,
    TransferDerogation,
    TransferMechanism,
    Vendor,
    VendorRole,
)
from lawful.cli import main
from lawful.exceptions import NaiveDatetimeError
from lawful.ledger import MemoryLedger, SQLiteLedger, iso27560_records

DPV = Namespace("https://w3id.org/dpv#")
GDPR = Namespace("https://w3id.org/dpv/legal/eu/gdpr#")
DCT = Namespace("http://purl.org/dc/terms/")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")
SCHEMA = URIRef("https://w3id.org/dpv/schema/dpv-27560#record")

US = Vendor(
    "us",
    "US Co",
    VendorRole.PROCESSOR,
    hosting="United States",
    outside_eea=True,
    transfer=TransferMechanism.DEROGATION,
    derogation=TransferDerogation.EXPLICIT_CONSENT,
)
SCC = Vendor(
    "scc",
    "SCC Co",
    VendorRole.THIRD_PARTY,
    hosting="India",
    outside_eea=True,
    transfer=TransferMechanism.STANDARD_CONTRACTUAL_CLAUSES,
)
POLICY = policy(
    consent("news", vendors=("self", "scc"), data=("email",)),
    consent("stats", consent_lifetime=Duration.parse("6 months")),
    consent("video", vendors=("self", "us")),
    vendors=(US, SCC),
)


@pytest.fixture(autouse=True)
def offline() -> Iterator[None]:
    """Any attempt by pyld to fetch a context fails the test: records are self-contained."""

    def refuse(url: str, options: object = None) -> Any:
        raise AssertionError(f"a JSON-LD context was fetched: {url}")

    previous = jsonld.get_document_loader()
    jsonld.set_document_loader(refuse)
    try:
        yield
    finally:
        jsonld.set_document_loader(previous)


def export(events: Sequence[Event], at: datetime, pol: Policy = POLICY) -> dict[str, Any]:
    """The subject's records, written through a ledger as the CLI does."""
    with MemoryLedger(key=KEY) as ledger:
        ledger.append_batch([("s-1", e) for e in events])
        stored = list(ledger.events("s-1"))
    return iso27560_records("s-1", stored, pol, at=at, notice_url="https://example.com/privacy")


def graph_of(document: dict[str, Any]) -> Graph:
    """The document as RDF, through pyld (to N-Quads) and rdflib (JSON-LD), which agree."""
    text = json.dumps(document)
    nquads = jsonld.to_rdf(json.loads(text), {"format": "application/n-quads"})
    # Every quad is in the default graph: N-Quads without a graph term are N-Triples.
    from_pyld = Graph().parse(data=nquads, format="nt")
    with warnings.catch_warnings():
        # rdflib's own JSON-LD parser still builds a ConjunctiveGraph, which it deprecates.
        warnings.filterwarnings("ignore", "ConjunctiveGraph is deprecated", DeprecationWarning)
        from_rdflib = Graph().parse(data=text, format="json-ld")
    assert len(from_pyld) == len(from_rdflib) > 0
    assert set(from_pyld) == set(from_rdflib) or _isomorphic(from_pyld, from_rdflib)
    return from_rdflib


def _isomorphic(a: Graph, b: Graph) -> bool:
    from rdflib.compare import isomorphic  # noqa: PLC0415 - only for graphs with blank nodes

    return isomorphic(a, b)


def record_for(graph: Graph, purpose: str) -> URIRef:
    """The consent record whose process has ``purpose``."""
    iri = URIRef(f"urn:lawful:policy:rules:purpose:{purpose}")
    found = [
        r
        for r in graph.subjects(RDF.type, DPV.ConsentRecord)
        if any((p, DPV.hasPurpose, iri) in graph for p in graph.objects(r, DPV.hasProcess))
    ]
    assert len(found) == 1, found
    assert isinstance(found[0], URIRef)
    return found[0]


def states(graph: Graph, record: URIRef) -> list[tuple[URIRef, Literal]]:
    """The record's consent states (the DPV status class) with their times, in time order."""
    out = []
    for node in graph.objects(record, DPV.hasConsentStatus):
        kinds = {
            t
            for t in graph.objects(node, RDF.type)
            if t in {DPV.ConsentGiven, DPV.ConsentWithdrawn, DPV.ConsentExpired}
            or t == DPV.ConsentInvalidated
        }
        (kind,) = kinds
        (time,) = graph.objects(node, DPV.isIndicatedAtTime)
        assert isinstance(kind, URIRef)
        assert isinstance(time, Literal)
        assert time.datatype == XSD.dateTime
        out.append((kind, time))
    return sorted(out, key=lambda s: s[1].toPython())


def at(text: str) -> Literal:
    return Literal(text, datatype=XSD.dateTime)


def test_a_given_consent_is_a_record_of_the_27560_schema_with_its_purpose_and_basis() -> None:
    """Consent given: schema version, subject, notice, purpose, Art. 6(1)(a), given at its time."""
    graph = graph_of(export([ConsentGiven(at=T0, purpose="news", method=ConsentMethod.BANNER)], T0))
    record = record_for(graph, "news")
    assert (record, DCT.conformsTo, SCHEMA) in graph
    assert (record, DCT.identifier, None) in graph
    (subject,) = graph.objects(record, DPV.hasDataSubject)
    assert (subject, DCT.identifier, Literal("s-1")) in graph
    notice = URIRef("https://example.com/privacy")
    assert (record, DPV.hasNotice, notice) in graph
    assert (notice, RDF.type, DPV.ConsentNotice) in graph
    assert (notice, DCT.language, Literal("en")) in graph
    (process,) = graph.objects(record, DPV.hasProcess)
    assert (process, DPV.hasLegalBasis, DPV.Consent) in graph
    assert (process, DPV.hasLegalBasis, GDPR["A6-1-a"]) in graph
    email = URIRef("urn:lawful:policy:rules:data:email")
    assert (process, DPV.hasPersonalData, email) in graph
    assert (email, RDF.type, DPV.PersonalData) in graph
    for vendor in ("self", "scc"):
        assert (process, DPV.hasRecipient, URIRef(f"urn:lawful:policy:rules:vendor:{vendor}")) in (
            graph
        )
    assert states(graph, record) == [(DPV.ConsentGiven, at("2025-03-01T09:00:00+00:00"))]
    (given,) = graph.objects(record, DPV.hasConsentStatus)
    assert (given, RDF.type, DPV.ExpressedConsent) in graph
    assert (given, DPV.isIndicatedBy, DPV.DataSubject) in graph
    assert (given, DPV.hasIndicationMethod, Literal("banner")) in graph


def test_a_transfer_with_scc_names_its_third_country_and_mechanism() -> None:
    """A purpose's vendor outside the EEA: a dpv:Transfer with Art. 46(2)(c) and the country."""
    graph = graph_of(export([ConsentGiven(at=T0, purpose="news")], T0))
    (process,) = graph.objects(record_for(graph, "news"), DPV.hasProcess)
    (transfer,) = graph.objects(process, DPV.hasProcessing)
    assert (transfer, RDF.type, DPV.Transfer) in graph
    assert (transfer, DPV.hasRecipient, URIRef("urn:lawful:policy:rules:vendor:scc")) in graph
    assert (transfer, DPV.hasLegalBasis, GDPR["A46-2-c"]) in graph
    (country,) = graph.objects(transfer, DPV.hasThirdCountry)
    assert (country, RDF.type, DPV.ThirdCountry) in graph
    assert (country, DCT.description, Literal("India")) in graph


def test_a_withdrawal_follows_the_grant_with_its_own_time() -> None:
    """Consent withdrawn (Art. 7(3)): the record keeps the grant and adds the withdrawal."""
    history: list[Event] = [
        ConsentGiven(at=T0, purpose="news"),
        ConsentWithdrawn(at=T0 + timedelta(days=3), purpose="news"),
    ]
    graph = graph_of(export(history, T0 + timedelta(days=4)))
    assert states(graph, record_for(graph, "news")) == [
        (DPV.ConsentGiven, at("2025-03-01T09:00:00+00:00")),
        (DPV.ConsentWithdrawn, at("2025-03-04T09:00:00+00:00")),
    ]


def test_a_consent_past_its_lifetime_is_expired_at_its_end() -> None:
    """A 6-month consent lifetime that ran out before the export: ConsentExpired at its end."""
    history: list[Event] = [ConsentGiven(at=T0, purpose="stats")]
    before = graph_of(export(history, utc(2025, 8, 1)))
    record = record_for(before, "stats")
    assert [k for k, _ in states(before, record)] == [DPV.ConsentGiven]
    (given,) = before.objects(record, DPV.hasConsentStatus)
    (duration,) = before.objects(given, DPV.hasDuration)
    assert (duration, RDF.type, DPV.TemporalDuration) in before
    assert (duration, RDF.value, Literal("P6M")) in before
    # The ledger records the grant now, after its `at`: it counts from then, and so does
    # its lifetime; this history is dated ahead of the clock for that reason.
    later = [ConsentGiven(at=utc(2030, 1, 1), purpose="stats")]
    after = graph_of(export(later, utc(2031, 1, 1)))
    assert states(after, record_for(after, "stats")) == [
        (DPV.ConsentGiven, at("2030-01-01T00:00:00+00:00")),
        (DPV.ConsentExpired, at("2030-07-01T00:00:00+00:00")),
    ]


def test_a_pre_ticked_box_is_an_invalidated_consent_and_other_events_are_left_out() -> None:
    """A pre-ticked box is never consent (Art. 4(11)); an objection is no consent state."""
    history: list[Event] = [
        ConsentGiven(at=T0, purpose="news", method=ConsentMethod.PRE_TICKED_BOX),
        Objection(at=T0 + timedelta(days=1)),
    ]
    graph = graph_of(export(history, T0 + timedelta(days=2)))
    assert [k for k, _ in states(graph, record_for(graph, "news"))] == [DPV.ConsentInvalidated]
    assert len(set(graph.subjects(RDF.type, DPV.ConsentRecord))) == 1


def test_transfer_consent_is_a_record_of_explicit_consent_under_art_49_1_a() -> None:
    """Transfer consent given then withdrawn: Art. 49(1)(a), the vendor, country, both states."""
    history: list[Event] = [
        TransferConsentGiven(at=T0, vendor="us", purpose="video", method=ConsentMethod.FORM),
        TransferConsentWithdrawn(at=T0 + timedelta(days=5), vendor="us", purpose="video"),
    ]
    graph = graph_of(export(history, T0 + timedelta(days=6)))
    (record,) = graph.subjects(RDF.type, DPV.ConsentRecord)
    assert isinstance(record, URIRef)
    (process,) = graph.objects(record, DPV.hasProcess)
    assert (process, DPV.hasLegalBasis, GDPR["A49-1-a"]) in graph
    assert (process, DPV.hasLegalBasis, DPV.ExplicitlyExpressedConsent) in graph
    (transfer,) = graph.objects(process, DPV.hasProcessing)
    assert (transfer, DPV.hasRecipient, URIRef("urn:lawful:policy:rules:vendor:us")) in graph
    assert (transfer, DPV.hasLegalBasis, GDPR["A49-1-a"]) in graph
    (country,) = graph.objects(transfer, DPV.hasThirdCountry)
    assert (country, DCT.description, Literal("United States")) in graph
    (inner,) = graph.objects(process, DPV.hasProcess)
    assert (inner, DPV.hasPurpose, URIRef("urn:lawful:policy:rules:purpose:video")) in graph
    assert states(graph, record) == [
        (DPV.ConsentGiven, at("2025-03-01T09:00:00+00:00")),
        (DPV.ConsentWithdrawn, at("2025-03-06T09:00:00+00:00")),
    ]


def test_a_transfer_consent_for_every_purpose_covers_each_purpose_using_the_vendor() -> None:
    """A transfer consent without a purpose covers every purpose that uses the vendor."""
    graph = graph_of(export([TransferConsentGiven(at=T0, vendor="us")], T0))
    (record,) = graph.subjects(RDF.type, DPV.ConsentRecord)
    (process,) = graph.objects(record, DPV.hasProcess)
    purposes = {p for inner in graph.objects(process, DPV.hasProcess) for p in
                graph.objects(inner, DPV.hasPurpose)}  # fmt: skip
    assert purposes == {URIRef("urn:lawful:policy:rules:purpose:video")}


def test_record_ids_are_stable_and_the_document_is_plain_json() -> None:
    """The same history exports the same record ids; the document needs no JSON-LD library."""
    history: list[Event] = [ConsentGiven(at=T0, purpose="news", id="c-1")]
    first = iso27560_records("s-1", history, POLICY, at=T0)
    again = iso27560_records("s-1", history, POLICY, at=T0)
    assert first == again
    assert json.loads(json.dumps(first)) == first
    context = first["@context"]
    assert isinstance(context, dict)
    assert all(isinstance(v, str) for v in context.values())


def test_a_consent_for_an_undeclared_purpose_is_exported_as_recorded() -> None:
    """Art. 15: a consent on record for a purpose the policy lacks still appears, bare."""
    graph = graph_of(export([ConsentGiven(at=T0, purpose="ghost")], T0))
    record = record_for(graph, "ghost")
    (process,) = graph.objects(record, DPV.hasProcess)
    assert (process, DPV.hasLegalBasis, None) not in graph
    assert [k for k, _ in states(graph, record)] == [DPV.ConsentGiven]


def test_a_naive_export_instant_is_refused() -> None:
    """The export's instant must carry a zone, as every instant lawful takes."""
    with pytest.raises(NaiveDatetimeError):
        iso27560_records("s-1", [], POLICY, at=datetime(2025, 1, 1))


def test_the_first_party_is_a_controller_recipient() -> None:
    """The first party is typed dpv:DataController among the recipients."""
    graph = graph_of(export([ConsentGiven(at=T0, purpose="news")], T0))
    node = URIRef(f"urn:lawful:policy:rules:vendor:{SELF.id}")
    assert (node, RDF.type, DPV.DataController) in graph
    assert (URIRef("urn:lawful:policy:rules:vendor:scc"), RDF.type, DPV.ThirdParty) in graph


# -- the command line ------------------------------------------------------------------------


@pytest.fixture
def ledger_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ledger of the bundled policy's visitor with a key file, as the current directory."""
    (tmp_path / "key").write_text(KEY.hex() + "\n")
    (tmp_path / "key").chmod(0o600)
    monkeypatch.chdir(tmp_path)
    with SQLiteLedger("l.db", key=KEY.hex().encode(), create=True) as ledger:
        ledger.append_batch(
            [
                ("v-1", ConsentGiven(at=utc(2030, 3, 1), purpose="analytics", id="c-1")),
                ("v-1", ConsentWithdrawn(at=utc(2030, 4, 1), purpose="analytics", id="w-1")),
            ]
        )
    return tmp_path


def test_the_cli_exports_json_ld_for_a_subject(
    ledger_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ledger export --format iso27560`` prints JSON-LD that parses to the records."""
    code = main(
        ["ledger", "export", "l.db", "v-1", "--key-file", "key", "--format", "iso27560",
         "--policy", "piwik-pro", "--at", "2030-05-01T00:00:00Z"]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    graph = graph_of(json.loads(out))
    (record,) = graph.subjects(RDF.type, DPV.ConsentRecord)
    assert isinstance(record, URIRef)
    assert [k for k, _ in states(graph, record)] == [DPV.ConsentGiven, DPV.ConsentWithdrawn]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--format", "iso27560"], "give SUBJECT and --policy"),
        (["--policy", "piwik-pro"], "--policy: only with --format iso27560"),
        (["--format", "iso27560", "--policy", "piwik-pro", "--at", "2030-01-01"], "no offset"),
        (["--format", "iso27560", "--policy", "nope"], "no bundled policy"),
    ],
)
def test_the_cli_refuses_an_incomplete_iso27560_export_in_one_line(
    ledger_dir: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    """iso27560 needs SUBJECT and --policy; its options need the format; exit 2, one line."""
    code = main(["ledger", "export", "l.db", "v-1", "--key-file", "key", *extra])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.startswith("lawful: error: ")
    assert message in err
    assert err.count("\n") == 1
