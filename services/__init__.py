"""The compact services (API, consumer) and what they share: features, model loading, ticks, metrics."""
