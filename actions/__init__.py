"""Custom actions of the Rasa bot; each module holds one concern. Nothing heavy runs at import."""
