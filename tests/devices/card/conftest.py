"""Fixtures for the ID-card tests: one pcscd for the session (reused if one runs), a TEST PKI, personalised cards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulators.card.pcscd import PcscDaemon, missing_card_stack
from emulators.card.personalisation import CardHolder, ChipFiles, TestPki, make_test_pki, personalise

READER = "Virtual PCD 00 00"


@pytest.fixture
def pcscd(pcscd_session: PcscDaemon) -> PcscDaemon:
    """The session's pcscd, checked before each test: pcscd is one per machine, and a daemon reused from another
    program may have been stopped by it meanwhile; then a new one is started (and owned) here."""
    pcscd_session.start(READER)
    return pcscd_session


@pytest.fixture(scope="session")
def pcscd_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PcscDaemon]:
    """pcscd with the vpcd driver, started once for the session and stopped at its end (if started here)."""
    if (why := missing_card_stack()) is not None:
        pytest.skip(why)
    daemon = PcscDaemon(log_path=tmp_path_factory.mktemp("pcscd") / "pcscd.log")
    daemon.start(READER)
    yield daemon
    daemon.stop()


@pytest.fixture(scope="session")
def pki() -> TestPki:
    """The kit's trusted TEST CSCA and its Document Signer."""
    return make_test_pki(label="TEST")


@pytest.fixture(scope="session")
def foreign_pki() -> TestPki:
    """Another CSCA and signer that the kit does not trust."""
    return make_test_pki(country="XX", label="FOREIGN")


@pytest.fixture(scope="session")
def holder() -> CardHolder:
    return CardHolder()


@pytest.fixture(scope="session")
def genuine(holder: CardHolder, pki: TestPki) -> ChipFiles:
    """A card personalised and signed under the trusted TEST PKI."""
    return personalise(holder, pki)
