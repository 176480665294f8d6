"""Identification paths, each an explicit state machine: card then finger, finger alone, typed number."""

from station.workflow.base import FINAL, MAX_ACQUIRE_TRIES, MAX_MATCH_TRIES, Flow, State, reprint, slip_for
from station.workflow.card_finger import CardFingerFlow
from station.workflow.finger_only import FingerOnlyFlow
from station.workflow.manual import ManualFlow
from station.workflow.ports import CardData, CardReader, Scanner, SlipPrinter

__all__ = [
    "FINAL",
    "MAX_ACQUIRE_TRIES",
    "MAX_MATCH_TRIES",
    "CardData",
    "CardFingerFlow",
    "CardReader",
    "FingerOnlyFlow",
    "Flow",
    "ManualFlow",
    "Scanner",
    "SlipPrinter",
    "State",
    "reprint",
    "slip_for",
]
