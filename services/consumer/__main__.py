"""`python -m services.consumer`: the prediction consumer (settings: services.settings)."""

from services.consumer.loop import main

if __name__ == "__main__":
    raise SystemExit(main())
