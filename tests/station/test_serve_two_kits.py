"""Two kit processes started with ``shailoo station serve`` (screen + peer sync), driven over HTTP: each screen counts
its peer, a voter identified at kit 1 is refused at kit 2, and both report the same station total."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from station.staff import Role, add_worker
from station.store import KitStore
from station.voter_list import load_voters, parse_csv
from tests.conftest import REPO, free_port, shailoo_command

LIST = """personal_number,list_number,surname,given_name,patronymic,sex,birth_date
21203198012345,1,Асанов,Бакыт,Талантович,M,1980-03-12
11507199254321,2,Иванова,Мария,Петровна,F,1992-07-15
"""


def _run(*args: str) -> None:
    done = subprocess.run(shailoo_command(*args), capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def kits(tmp_path: Path) -> Iterator[list[str]]:
    (tmp_path / "list.csv").write_text(LIST, encoding="utf-8")
    ports = [(free_port(), free_port()) for _ in range(2)]
    procs = []
    urls = []
    for i, (http, peer) in enumerate(ports, start=1):
        db = str(tmp_path / f"kit{i}.db")
        if i == 1:  # the set-up commands once through the real CLI; the second kit in-process (saves start-ups)
            _run("station", "--db", db, "init", "--election", "e1", "--station", "3152", "--kit", str(i))
            _run("station", "--db", db, "load-csv", str(tmp_path / "list.csv"))
            _run("station", "--db", db, "worker", "op", "--name", "Айгүл", "--pin", "1111")
            _run("station", "--db", db, "worker", "m2", "--name", "Нурлан", "--pin", "2222")
        else:
            store = KitStore(db)
            store.set_kit_info("e1", "3152", str(i))
            load_voters(store, parse_csv(tmp_path / "list.csv"))
            add_worker(store, "op", "Айгүл", Role.OPERATOR, "1111")
            add_worker(store, "m2", "Нурлан", Role.OPERATOR, "2222")
            store.close()
        other = ports[2 - i][1]
        procs.append(subprocess.Popen(
            shailoo_command("station", "--db", db, "serve", "--port", str(http),
                            "--peer-bind", f"tcp://127.0.0.1:{peer}", "--peer", f"tcp://127.0.0.1:{other}"),
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))
        urls.append(f"http://127.0.0.1:{http}")
    try:
        for url in urls:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{url}/login", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "kit screen did not start"
                time.sleep(0.2)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)


def _client(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, follow_redirects=True, timeout=10)
    assert client.post("/login", data={"pin": "1111"}).status_code == 200
    return client


def _typed(client: httpx.Client, pin: str) -> str:
    client.post("/flow/start", data={"kind": "manual"})
    page = client.post("/flow/number", data={"pin": pin, "reason": "worn_prints"}).text
    if 'data-state="confirm"' in page:
        page = client.post("/flow/confirm", data={"second_pin": "2222"}).text
    return page


@pytest.mark.slow
def test_two_served_kits_share_the_voted_set(kits: list[str]) -> None:
    one, two = _client(kits[0]), _client(kits[1])
    deadline = time.monotonic() + 10
    while not (one.get("/api/status").json()["peers"] == 1 == two.get("/api/status").json()["peers"]):
        assert time.monotonic() < deadline, "kits did not see each other"
        time.sleep(0.2)
    assert "Туташкан коңшу комплекттер: 1" in one.get("/").text
    assert 'data-state="print_failed"' in _typed(one, "21203198012345")  # identified; no printer on this kit
    time.sleep(1.0)
    refused = _typed(two, "21203198012345")
    assert 'data-state="refused"' in refused and "МУРДА ДОБУШ БЕРГЕН" in refused
    s1, s2 = one.get("/api/status").json(), two.get("/api/status").json()
    assert s1["counters"]["station_identified"] == s2["counters"]["station_identified"] == 1
    assert s1["counters"]["identified"] == 1 and s2["counters"]["identified"] == 0
