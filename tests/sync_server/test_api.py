"""The HTTP API on SQLite and PostgreSQL: turnout breakdowns, roles and scoping, audit, open data with a verifiable
signature, registry import, kit provisioning and revocation, anomalies, settings that refuse default secrets."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from link.keys import KitKeys
from sync_server.api import create_app
from sync_server.config import DEV_ADMIN_TOKEN, ServerSettings
from sync_server.errors import SettingsError
from sync_server.in_process import InProcessServer
from sync_server.services.access import create_token
from sync_server.services.ingest import ingest_identifications
from sync_server.testing.kits import make_event

ADMIN = {"Authorization": f"Bearer {DEV_ADMIN_TOKEN}"}
#: 08:30 local (UTC+6) on election day.
MORNING = datetime(2026, 11, 29, 2, 30, tzinfo=UTC)


class Api:
    """A CEC database with the synthetic registry (5 stations per region) and a client of its HTTP API."""

    def __init__(self, db_url: str, tmp: Path) -> None:
        self.server = InProcessServer(db_url, tmp / "keys", stations_per_region=5)
        self.settings = ServerSettings(database_url=db_url, keys_dir=tmp / "keys")
        self.client = TestClient(create_app(self.server.sessions, self.settings, self.server.keys))

    def ingest(self, events: list[Any]) -> None:
        with self.server.sessions.begin() as session:
            ingest_identifications(session, events)

    def token(self, name: str, role: str, area: str = "") -> dict[str, str]:
        with self.server.sessions.begin() as session:
            return {"Authorization": f"Bearer {create_token(session, name, role, area)}"}

    def session(self) -> Session:
        return self.server.sessions()


@pytest.fixture
def api(db_url: str, tmp_path: Path) -> Iterator[Api]:
    instance = Api(db_url, tmp_path)
    yield instance
    instance.client.close()
    instance.server.close()


def test_migrated_schema_equals_models(api: Api) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from sync_server.models import Base

    with api.server.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_turnout_by_hour_oblast_district_station_sex_and_path(api: Api) -> None:
    events = [
        make_event("1001", "1", 1, MORNING, "biometric", "F"),
        make_event("1001", "1", 2, MORNING + timedelta(hours=1), "card", "M"),
        make_event("1002", "1", 1, MORNING + timedelta(hours=1), "manual", "F"),
        make_event("3001", "1", 1, MORNING + timedelta(hours=3), "biometric", "M"),
    ]
    api.ingest(events)
    api.ingest(events[:2])  # resends change nothing
    body = api.client.get("/api/turnout/summary", headers=ADMIN).json()
    assert body["total"] == 4
    hours = {h["hour"]: h for h in body["by_hour"]}
    assert (hours[8]["identified"], hours[9]["identified"], hours[11]["identified"]) == (1, 2, 1)
    assert hours[11]["cumulative"] == 4
    assert body["by_sex"] == {"F": 2, "M": 2}
    assert body["by_path"] == {"biometric": 2, "card": 1, "manual": 1}
    oblasts = {o["oblast"]: o for o in body["by_oblast"]}
    assert (oblasts["Bishkek"]["identified"], oblasts["Issyk-Kul"]["identified"]) == (3, 1)
    assert oblasts["Bishkek"]["stations"] == 5
    districts = {d["district"]: d["identified"] for d in body["by_district"]}
    assert districts["Bishkek district 1"] == 2 and districts["Bishkek district 2"] == 1
    station = next(s for s in body["stations"] if s["station_id"] == "1001")
    assert station["identified"] == 2 and station["percent"] == round(200 / station["registered"], 2)
    public = api.client.get("/api/turnout").json()
    assert public["total"] == 4
    assert api.client.get("/api/turnout/stations", params={"ids": "1001,3001,9999"}).json() == {
        "1001": 2, "3001": 1, "9999": 0}


def test_roles_tokens_and_territorial_scope(api: Api) -> None:
    api.ingest([make_event("1001", "1", 1, MORNING), make_event("3001", "1", 1, MORNING)])
    assert api.client.get("/api/turnout/summary").status_code == 403  # the public feed is not the CEC's view
    assert api.client.get("/api/turnout/summary", headers={"Authorization": "Bearer nope"}).status_code == 401
    monitor = api.token("monitor-1", "monitor")
    assert api.client.get("/api/turnout/summary", headers=monitor).json()["total"] == 2
    assert api.client.post("/api/kits", json={"station_id": "1001", "kit_id": "1"}, headers=monitor).status_code == 403
    tec = api.token("tec-issyk-kul", "territorial", "Issyk-Kul")
    scoped = api.client.get("/api/turnout/summary", headers=tec).json()
    assert scoped["total"] == 1 and {s["oblast"] for s in scoped["stations"]} == {"Issyk-Kul"}
    observer = api.token("observer-1", "observer")
    assert api.client.get("/api/kits", headers=observer).status_code == 403
    assert api.client.get("/api/open/turnout.csv", headers=observer).status_code == 200
    assert api.client.get("/api/audit", headers=monitor).status_code == 403


def test_audit_records_who_read_what(api: Api) -> None:
    monitor = api.token("monitor-2", "monitor")
    api.client.get("/api/kits", headers=monitor)
    api.client.get("/api/open/turnout.json")
    api.client.get("/api/turnout/summary")  # refused, and audited as refused
    log = api.client.get("/api/audit", headers=ADMIN).json()
    seen = {(e["actor"], e["path"], e["status"]) for e in log}
    assert ("monitor-2", "/api/kits", 200) in seen
    assert ("anonymous", "/api/open/turnout.json", 200) in seen
    assert ("anonymous", "/api/turnout/summary", 403) in seen


def test_open_data_csv_json_and_signed_snapshot(api: Api) -> None:
    api.ingest([make_event("1001", "1", i, MORNING + timedelta(minutes=20 * i)) for i in range(1, 7)])
    csv_text = api.client.get("/api/open/turnout.csv").text
    lines = csv_text.strip().splitlines()
    assert lines[0] == "station_id,oblast,district,registered,hour,identified,cumulative"
    assert [line.split(",")[4:] for line in lines[1:]] == [["8", "1", "1"], ["9", "3", "4"], ["10", "2", "6"]]
    rows = api.client.get("/api/open/turnout.json").json()["rows"]
    assert [r["cumulative"] for r in rows] == [1, 4, 6] and rows[0]["station_id"] == "1001"
    snap = api.client.get("/api/open/snapshot").json()
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(snap["public_key"]))
    key.verify(base64.b64decode(snap["signature"]), snap["payload"].encode("utf-8"))
    assert json.loads(snap["payload"])["rows"] == rows
    with pytest.raises(InvalidSignature):
        key.verify(base64.b64decode(snap["signature"]), snap["payload"].replace('"identified":3', '"identified":4')
                   .encode("utf-8"))


def test_registry_import_refuses_bad_lines_and_imports_good(api: Api) -> None:
    header = "station_id,name,address,oblast,district,commission_id,commission_name,registered_voters\n"
    bad = header + "9901,School,Addr,Naryn,Naryn district 1,TEC41,TEC,12\n99 02,School,,Naryn,,TEC41,TEC,-3\n"
    refused = api.client.post("/api/registry", content=bad.encode(), headers=ADMIN)
    assert refused.status_code == 422 and "line 3" in refused.text and "registered_voters" in refused.text
    assert api.client.get("/api/turnout/stations", params={"ids": "9901"}).json() == {"9901": 0}
    good = header + "9901,School 1,Addr 1,Naryn,Naryn district 1,TEC41,TEC Naryn 1,1200\n"
    assert api.client.post("/api/registry", content=good.encode(), headers=ADMIN).json() == {"stations": 1}
    summary = api.client.get("/api/turnout/summary", headers=ADMIN).json()
    assert any(s["station_id"] == "9901" and s["registered"] == 1200 for s in summary["stations"])


def test_provision_and_revoke_a_kit(api: Api, tmp_path: Path) -> None:
    created = api.client.post("/api/kits", json={"station_id": "2001", "kit_id": "1"}, headers=ADMIN)
    assert created.status_code == 200
    key_file = tmp_path / "kit.keys"
    key_file.write_text(created.text)
    keys = KitKeys.load(key_file)
    assert (keys.station_id, keys.server_public) == ("2001", api.server.keys.curve.public)
    again = api.client.post("/api/kits", json={"station_id": "2001", "kit_id": "1"}, headers=ADMIN)
    assert again.status_code == 422 and "already provisioned" in again.text
    unknown = api.client.post("/api/kits", json={"station_id": "0000", "kit_id": "1"}, headers=ADMIN)
    assert unknown.status_code == 422 and "not in the registry" in unknown.text
    revoked = api.client.post("/api/kits/2001/1/revoke", json={"reason": "lost"}, headers=ADMIN)
    assert revoked.status_code == 200
    kits = api.client.get("/api/kits", headers=ADMIN).json()
    assert [(k["station_id"], k["status"]) for k in kits] == [("2001", "revoked")]
    assert api.client.post("/api/kits/2001/9/revoke", json={"reason": "x"}, headers=ADMIN).status_code == 404


def test_every_anomaly_kind_is_found(api: Api) -> None:
    api.server.provision("9005", "1")  # never connects: a silent station
    events = [make_event("1001", "1", i, MORNING + timedelta(seconds=5 * i)) for i in range(1, 6)]  # too fast
    events.append(make_event("1002", "1", 1, datetime(2026, 11, 29, 15, 30, tzinfo=UTC)))  # 21:30 local
    events += [make_event("2001", "1", i, MORNING + timedelta(minutes=2 * i), path="manual") for i in range(1, 26)]
    events += [make_event("2002", "1", i, MORNING + timedelta(minutes=2 * i), override=i <= 3) for i in range(1, 5)]
    events.append(make_event("3001", "1", 1, MORNING, voter="d" * 64))
    events.append(make_event("4001", "1", 1, MORNING + timedelta(hours=2), voter="d" * 64))
    # Issyk-Kul: 3002 far above its peers 3001, 3003, 3004, 3005 (and the 5 are the oblast's stations).
    events += [make_event("3002", "1", i, MORNING + timedelta(minutes=i)) for i in range(1, 800, 2)]
    events += [make_event(s, "1", 2, MORNING + timedelta(hours=1)) for s in ("3001", "3003", "3004", "3005")]
    events += [make_event("3006", "1", 1, MORNING)]  # unknown station: counted, not a peer
    api.ingest(events)
    found = api.client.get("/api/anomalies", headers=ADMIN).json()
    kinds = {a["kind"]: a for a in found}
    assert kinds["silent_station"]["station_id"] == "9005"
    assert kinds["too_fast"]["station_id"] == "1001" and kinds["too_fast"]["count"] == 4
    assert kinds["outside_hours"]["station_id"] == "1002"
    assert kinds["manual_burst"]["station_id"] == "2001"
    assert kinds["repeated_overrides"]["station_id"] == "2002"
    assert kinds["same_person_twice"]["stations"] == ["3001", "4001"]
    assert kinds["far_from_peers"]["station_id"] == "3002"
    naryn = api.token("tec-naryn", "territorial", "Naryn")  # 4001 is in Naryn: it sees the double identification
    assert [a["kind"] for a in api.client.get("/api/anomalies", headers=naryn).json()] == ["same_person_twice"]
    talas = api.token("tec-talas", "territorial", "Talas")
    assert api.client.get("/api/anomalies", headers=talas).json() == []


def test_openapi_documents_every_route(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    for path in ("/api/turnout/summary", "/api/kits", "/api/anomalies", "/api/open/turnout.csv",
                 "/api/open/snapshot", "/api/stream", "/api/registry", "/api/tokens", "/api/audit"):
        assert path in spec["paths"], path


def test_settings_refuse_default_secrets_outside_development(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="admin token"):
        ServerSettings(environment="production", database_url="postgresql+psycopg://cec@db/cec")
    with pytest.raises(SettingsError, match="demo database"):
        ServerSettings(environment="production", admin_token="x" * 32)
    ok = ServerSettings(environment="production", admin_token="x" * 32, database_url="postgresql+psycopg://c@d/e")
    assert ok.environment == "production"
    with pytest.raises(SettingsError):
        ServerSettings(election_mode="rehearsal")
