"""MTL Workbench library: config, data, models, weighting, training, runs and analysis.

Importable without Streamlit. Data flows one way:
config -> data -> models -> train -> runs -> analysis.
"""

__version__ = "0.1.0"
