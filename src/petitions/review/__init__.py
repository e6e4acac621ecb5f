"""The supervisors' review web app (FastAPI + server-rendered Jinja2 pages)."""
