"""Device emulators shipped with the project, for trainers and tests: they speak the devices' real protocols.

Each runs on a pty pair (the driver opens ``/dev/pts/N`` with pyserial), optionally paced to the real line rate,
and injects faults through its ``faults`` attribute:

- ``emulators.r30x``: R307 / AS608 / R503 ("EF01") modules; images from a folder, any callable returning a uint8
  array (the synthetic generator plugs in here), or a built-in ridge pattern;
- ``emulators.gt521``: GT-521F52 / F32 modules, including the baud-rate change;
- ``emulators.printer``: an ESC/POS slip printer that renders each slip to a PNG as paper would show it.

In a test or the kit: ``station.devices.open_device("emulated://r307?images=DIR")`` (the emulator is then on
``device.emulator``). For a trainer, as a process: ``python -m emulators.r30x --images DIR --pace`` prints the port on
stdout and takes ``set FIELD VALUE`` / ``show`` / ``unplug`` commands on stdin (``emulators.serve``).
"""
