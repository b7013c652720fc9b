"""Routes of the systems Conveyor replaces (`../shared/seeds/`), one module per system.

Each is a thin adapter over the one task service: it translates a source system's request
and reply shapes, and stores, queues and runs nothing itself.

- `flask_threads`: seed 000, the multithreaded Flask task system.
- `task_api`: seed 001, the FastAPI + PostgreSQL + Redis task processing system.
- `math_wizard`: seed 003, the Distributed Math Wizard.
- `task_route`: `POST /task`, which seeds 001 and 003 share; the body's shape picks.

Imported one by one (not from here): `api.tasks` uses `flask_threads`, and the others use
`api.tasks`.
"""
