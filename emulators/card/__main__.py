"""``python -m emulators.card``: an emulated ID card on pcscd's virtual reader, for trainers and demos.

Starts pcscd if none runs, personalises a card under a fresh TEST PKI, writes the TEST CSCA certificate where the
kit's trust list is read (``--csca-dir``), prints the card's MRZ, puts the card on the reader and keeps it there
until Ctrl-C. ``--forge`` alters DG1, ``--clone`` copies the card to a chip without its key, ``--foreign`` signs
with an untrusted CSCA (the kit must refuse all three); ``--wrong-key-sw`` picks the status word for a mistyped MRZ.
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from emulators.card.chip import ChipFaults
from emulators.card.kit import EmulatedCardStation
from emulators.card.personalisation import clone, forge_personal_number, make_test_pki, personalise


def main(argv: list[str] | None = None) -> int:
    """Serve one emulated card until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m emulators.card", description=__doc__)
    parser.add_argument("--slot", type=int, choices=(0, 1), default=0, help="vpcd slot (reader 00 00 or 00 01)")
    parser.add_argument("--csca-dir", type=Path, help="write the TEST CSCA certificate (PEM) into this folder")
    parser.add_argument("--forge", action="store_true", help="alter DG1's personal number, keep the old EF.SOD")
    parser.add_argument("--clone", action="store_true", help="copy every file to a chip without the original key")
    parser.add_argument("--foreign", action="store_true", help="sign the card with a CSCA the kit does not trust")
    parser.add_argument("--wrong-key-sw", type=lambda s: int(s, 16), default=0x6300,
                        help="status word (hex) for wrong BAC keys: 6300, 6982 or 6988")
    args = parser.parse_args(argv)

    station = EmulatedCardStation(slot=args.slot)
    files = station.files
    if args.foreign:
        files = personalise(station.holder, make_test_pki(country="XX", label="FOREIGN"))
    if args.forge:
        files = forge_personal_number(files, "99999999999999")
    if args.clone:
        files = clone(files)
    station.load(files, ChipFaults(wrong_key_sw=args.wrong_key_sw))
    if args.csca_dir:
        args.csca_dir.mkdir(parents=True, exist_ok=True)
        (args.csca_dir / "test-csca.pem").write_bytes(station.pki.csca_pem())
        print(f"TEST CSCA written to {args.csca_dir / 'test-csca.pem'}", flush=True)
    print(f"reader: pcsc://{station.reader}", flush=True)
    print(files.mrz, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    station.insert()
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        station.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
