"""The signed station list package: built at the CEC, refused when tampered, truncated or foreign; old list stays."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

from station.errors import ListPackageError
from station.identify import FallbackReason, Outcome, identify_manual
from station.list_package import load_cec_public, load_list_key, load_package, unseal_biometrics
from station.store import KitStore, Voter, VoterBiometrics
from tests.conftest import REPO, shailoo_command
from tests.station.conftest import ELECTION, STATION, national_list, synthetic_template


def _load(kit: KitStore, data: bytes, keys: dict[str, Path]) -> int:
    return load_package(kit, data, load_cec_public(keys["public"]), load_list_key(keys["list"]))


def _count(kit: KitStore) -> int:
    with kit.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(Voter)) or 0)


def test_package_loads_with_sealed_biometrics(kit: KitStore, package: bytes, cec_keys: dict[str, Path]) -> None:
    assert _load(kit, package, cec_keys) == 5
    pin = national_list()[1].personal_number
    with kit.transaction() as session:
        voter = session.get(Voter, pin)
        sealed = session.get(VoterBiometrics, pin)
    assert voter is not None and voter.finger_count == 2 and voter.surname == "Асанов"
    assert sealed is not None and pin.encode() not in sealed.sealed  # encrypted at rest
    bio = unseal_biometrics(load_list_key(cec_keys["list"]), ELECTION, STATION, pin, sealed.nonce, sealed.sealed)
    assert bio.templates[6] == synthetic_template(f"{pin}.6")
    with pytest.raises(ListPackageError, match="list key does not open"):
        unseal_biometrics(os.urandom(32), ELECTION, STATION, pin, sealed.nonce, sealed.sealed)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: d[: len(d) // 2], "truncated"),
        (lambda d: d[:-10], "truncated"),
        (lambda d: d.replace("Асанов".encode(), "Осонов".encode(), 1), "signature does not verify"),
        (lambda d: d + b"x", "extra bytes"),
        (lambda d: b"PK" + d[2:], "not a Shailoo station list"),
    ],
)
def test_damaged_package_is_refused_and_previous_list_stays(
    kit: KitStore, package: bytes, cec_keys: dict[str, Path], damage: object, message: str
) -> None:
    _load(kit, package, cec_keys)
    with pytest.raises(ListPackageError, match=message):
        _load(kit, damage(package), cec_keys)  # type: ignore[operator]
    assert _count(kit) == 5


def test_foreign_election_and_station_and_signer_are_refused(
    tmp_path: Path, kit: KitStore, package: bytes, cec_keys: dict[str, Path]
) -> None:
    from station.list_package import build_package, generate_cec_keys, load_cec_signing_key

    signing = load_cec_signing_key(cec_keys["signing"])
    list_key = load_list_key(cec_keys["list"])
    other_election = build_package(national_list(), "e-2021", STATION, signing, list_key)
    with pytest.raises(ListPackageError, match="election e-2021"):
        _load(kit, other_election, cec_keys)
    other_station = build_package(national_list(), ELECTION, "1001", signing, list_key)
    with pytest.raises(ListPackageError, match="station 1001"):
        _load(kit, other_station, cec_keys)
    rogue_signing, _, _ = generate_cec_keys(tmp_path / "rogue")
    forged = build_package(national_list(), ELECTION, STATION, load_cec_signing_key(rogue_signing), list_key)
    with pytest.raises(ListPackageError, match="signature"):
        _load(kit, forged, cec_keys)
    with pytest.raises(ListPackageError, match="list key"):
        load_package(kit, package, load_cec_public(cec_keys["public"]), os.urandom(32))
    assert _count(kit) == 0


def test_wrong_station_voter_is_told_where_to_go(kit: KitStore, package: bytes, cec_keys: dict[str, Path]) -> None:
    _load(kit, package, cec_keys)
    elsewhere = next(v for v in national_list() if v.station_id == "1001")
    result = identify_manual(kit, elsewhere.personal_number, FallbackReason.INJURY, "op", "chair")
    assert result.outcome is Outcome.NOT_ON_LIST and result.right_station == "1001"
    assert "station 1001" in result.describe()
    assert identify_manual(kit, "29999999999999", FallbackReason.INJURY, "op", "chair").right_station == ""


def test_package_cannot_replace_list_after_voting_started(
    kit: KitStore, package: bytes, cec_keys: dict[str, Path]
) -> None:
    _load(kit, package, cec_keys)
    identify_manual(kit, national_list()[0].personal_number, FallbackReason.INJURY, "op", "chair")
    with pytest.raises(ListPackageError, match="already identified"):
        _load(kit, package, cec_keys)


def test_cli_build_and_load_end_to_end(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(shailoo_command(*args), capture_output=True, text=True, cwd=REPO, timeout=60)

    national = tmp_path / "national.csv"
    rows = ["station_id,personal_number,list_number,surname,given_name,patronymic,sex,birth_date,address,home_voting"]
    rows += [f"{v.station_id},{v.personal_number},{v.list_number},{v.surname},{v.given_name},,{v.sex},"
             f"{v.birth_date},{v.address},0" for v in national_list()]
    national.write_text("\n".join(rows) + "\n", encoding="utf-8")
    keys = tmp_path / "cec"
    assert run("server", "shard", "keys", "--out-dir", str(keys)).returncode == 0
    assert stat.S_IMODE((keys / "list.key").stat().st_mode) == 0o600
    out = tmp_path / "3152.shlist"
    built = run("server", "shard", "build", "--national", str(national), "--election", ELECTION, "--station", STATION,
                "--signing-key", str(keys / "cec-signing.key"), "--list-key", str(keys / "list.key"), "--out", str(out))
    assert built.returncode == 0, built.stdout + built.stderr
    assert "with the packed 1:N gallery" in built.stdout
    old_kits = run("server", "shard", "build", "--national", str(national), "--election", ELECTION, "--station", STATION,
                   "--signing-key", str(keys / "cec-signing.key"), "--list-key", str(keys / "list.key"),
                   "--out", str(tmp_path / "format1.shlist"), "--no-gallery")
    assert old_kits.returncode == 0 and "without the packed 1:N gallery" in old_kits.stdout, old_kits.stdout
    db = str(tmp_path / "kit.db")
    assert run("station", "--db", db, "init", "--election", ELECTION, "--station", STATION, "--kit", "1").returncode == 0
    assert stat.S_IMODE(Path(db + ".signing.key").stat().st_mode) == 0o600
    load = ("station", "--db", db, "load", str(out), "--cec-public", str(keys / "cec-public.hex"),
            "--list-key", str(keys / "list.key"))
    done = run(*load)
    assert done.returncode == 0 and "loaded 5 voters" in done.stdout, done.stdout + done.stderr
    data = out.read_bytes()
    out.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    refused = run(*load)
    assert refused.returncode == 1 and "signature does not verify" in refused.stdout
    assert run("station", "--db", db, "verify-log").returncode == 0
