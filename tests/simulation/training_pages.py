"""What the training-screen tests do in Chromium, once: the trainee's steps on the kit's operator screen and the
trainer's buttons on ``/training``."""

from __future__ import annotations

from typing import Any

#: States a finger capture can end in on the operator screen (the flow's ``data-state``).
AFTER_SCAN = {"await_finger", "choose", "confirm", "device_fault", "failed_acquire", "failed_match"}
#: Scans before giving up, as the kit allows (station.workflow.base.MAX_MATCH_TRIES).
SCAN_TRIES = 3


class TrainingPages:
    """The kit's screen (``kit``) and the trainer's page (``trainer``), two Playwright pages of one training server."""

    def __init__(self, url: str, trainer: Any, kit: Any) -> None:
        self.url = url
        self.trainer = trainer
        self.kit = kit

    def wait_state(self, wanted: set[str], page: Any = None) -> str:
        """The flow's state once it is one of ``wanted`` and no device job runs (the page reloads itself when a
        capture or commit is over)."""
        page = page or self.kit
        page.wait_for_load_state()
        page.wait_for_function(
            "wanted => { const f = document.querySelector('#flow');"
            " return f && !f.dataset.busy && wanted.includes(f.dataset.state); }", arg=sorted(wanted),
            timeout=120_000)
        return str(page.locator("#flow").get_attribute("data-state"))

    def login(self, pin: str = "1111") -> None:
        """Log in on the kit's keypad."""
        self.kit.goto(f"{self.url}/login")
        for digit in pin:
            self.kit.click(f".keypad button[data-key='{digit}']")
        self.kit.click("#login")
        self.kit.wait_for_url(f"{self.url}/")

    def call_next(self) -> None:
        """The trainer calls the next voter of the queue (their card and number are then on the trainer's page)."""
        self.trainer.goto(f"{self.url}/training")
        self.trainer.click("#call-voter")

    def scan(self) -> str:
        """Press Scan until the finger gives an answer (or the kit stops asking); a candidate list is answered with
        its first row. Returns the state reached."""
        for _try in range(SCAN_TRIES):
            self.kit.click("#scan")
            got = self.wait_state(AFTER_SCAN)
            if got != "await_finger":
                break
        if got == "choose":
            self.kit.locator("button.candidate").first.click()
            got = self.wait_state({"confirm"})
        return got

    def confirm(self) -> str:
        """Confirm the voter on screen; returns ``printed`` or ``print_failed``."""
        self.kit.click("#confirm")
        return self.wait_state({"printed", "print_failed"})

    def trainer_action(self, action: str) -> None:
        """A physical action the trainer records (refuse, redirect, reload_paper, network_back, ...)."""
        self.trainer.goto(f"{self.url}/training")
        self.trainer.click(f"#action-{action}")

    def done(self) -> None:
        """The trainer finishes with this voter."""
        self.trainer.goto(f"{self.url}/training")
        self.trainer.click("#done-voter")
