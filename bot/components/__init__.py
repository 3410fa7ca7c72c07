"""Custom Rasa NLU components. Rasa imports them in .venv-rasa (Python 3.10, no torch)."""
