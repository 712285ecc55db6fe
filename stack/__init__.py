"""Running the whole system locally without Docker (`make stack`) and picturing its dashboards (`make snapshot`).

Operations tooling only: the services never import this package.
"""
