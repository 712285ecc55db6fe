"""Compatibility for trained artifacts: models pickled before `services/ml/` existed refer to
`services.model.log_scale_features` (the pipeline's transform, pickled by reference). Keep this module while such
artifacts (local `.work/models/ml`, MLflow registries) may still be served; new code imports `services.ml.model`."""

from services.ml.model import log_scale_features

__all__ = ["log_scale_features"]
