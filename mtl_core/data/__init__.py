"""Data: sources, column roles, task inference, splits and encoders to tensors."""
