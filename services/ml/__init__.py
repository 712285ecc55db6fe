"""The model's life: feature rows from ticks (`features`), the two model variants and how they load (`model`),
training and registration in MLflow (`training`, `make train`), and the drift check (`drift`, `make drift`)."""
