"""Update-level middlewares, in the order `bot.factory` registers them:

session (a unit of work) → CRM user and chat → locale → access gate → error replies.
"""

from bot.middlewares.access import AccessGateMiddleware
from bot.middlewares.database import DatabaseMiddleware
from bot.middlewares.errors import ErrorReplyMiddleware
from bot.middlewares.user import CrmUserMiddleware

__all__ = [
    "AccessGateMiddleware",
    "CrmUserMiddleware",
    "DatabaseMiddleware",
    "ErrorReplyMiddleware",
]
