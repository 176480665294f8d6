"""The kit-to-CEC link: versioned turnout messages and the kit-side sender over ZeroMQ."""
