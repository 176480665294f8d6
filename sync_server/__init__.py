"""The CEC server: ingests turnout from kits over ZeroMQ, serves turnout over HTTP (FastAPI, SQLAlchemy)."""
