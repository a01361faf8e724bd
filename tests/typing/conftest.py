"""tests/typing holds files that mypy checks and pytest never runs."""

collect_ignore = ["test_public_api.py", "downstream_no_any.py"]
