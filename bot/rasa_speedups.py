"""One measured cost of Rasa 3.6 removed: the validation of every action server reply.

Rasa checks each reply of the action server with `jsonschema.validate(reply, schema)`, which first
re-validates Rasa's own (constant) schema against the JSON Schema 2020-12 meta-schema and builds a
new validator, on every call: about 19 ms of CPU per call on our machine, and a message takes two
to four calls (slot mapping validation, the action, the form's validation). Profiling the stack
under load put it at about 30 % of the Rasa process's CPU. `apply()` makes Rasa validate against
a validator built once from the same schema (the schema itself is checked once, at start): same
rules, same errors, about 0.3 ms a call.

Rasa loads no code of ours at start except the classes named in the endpoints file, so
`bot.tracker_store.MaskingSQLTrackerStore` calls `apply()`. It patches only the Rasa version it
was written against; with another version it leaves Rasa as it is and says so in the log.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)
PATCHED_RASA = "3.6.21"
_MESSAGE_SUFFIX = (
    ". Failed to validate Action server response from API, make sure your response from the Action endpoint is valid."
)


def apply() -> bool:
    """Install the compiled validator on Rasa's RemoteAction; True when it did."""
    import rasa
    from jsonschema import validators
    from jsonschema.exceptions import best_match
    from rasa.core.actions.action import RemoteAction

    if getattr(RemoteAction, "_assist_compiled_validator", False):
        return True
    if rasa.__version__ != PATCHED_RASA:
        log.warning("rasa %s is not %s: action replies are validated the slow way", rasa.__version__, PATCHED_RASA)
        return False
    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)

    def validate_action_result(self: Any, result: dict[str, Any]) -> bool:
        error = best_match(validator.iter_errors(result))
        if error is not None:
            error.message += _MESSAGE_SUFFIX
            raise error
        return True

    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
    RemoteAction._assist_compiled_validator = True  # type: ignore[attr-defined]
    return True
