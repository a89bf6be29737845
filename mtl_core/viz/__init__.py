"""Plotly figures and display tables shared by the app pages (no Streamlit here)."""
