"""Update-level middlewares, in the order `bot.factory` registers them:

session (a unit of work) → CRM user and chat → a group's triage queue → locale → access gate
→ error replies;
then, for button presses only, a pending dialog the button does not answer is ended.
"""

from bot.middlewares.access import AccessGateMiddleware
from bot.middlewares.database import DatabaseMiddleware
from bot.middlewares.dialogs import StaleDialogMiddleware
from bot.middlewares.errors import ErrorReplyMiddleware
from bot.middlewares.queue import TriageQueueMiddleware
from bot.middlewares.user import CrmUserMiddleware

__all__ = [
    "AccessGateMiddleware",
    "CrmUserMiddleware",
    "DatabaseMiddleware",
    "ErrorReplyMiddleware",
    "StaleDialogMiddleware",
    "TriageQueueMiddleware",
]
