"""Streamlit pages: thin files of widgets and plots; all logic lives in mtl_core."""
