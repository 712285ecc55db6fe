"""Development tools, in one place: the whole system on 127.0.0.1 without Docker (`make stack`), its pieces
(`broker`: a local Tansu broker; `load_test`; `traffic`: a steady API client; `ports`; `http`: the one HTTP
client, httpx) and pictures of its dashboards (`make snapshot`).

Never imported by product code (`services`, `codegen`): `make lint` checks it (pyproject.toml, importlinter).
"""
