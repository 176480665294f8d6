"""Device emulators shipped with the project, for trainers and tests: they speak the devices' real protocols."""
