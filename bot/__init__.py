"""The Telegram front end: composition root, middlewares, run modes, CLI."""

from bot.lazy_aiogram import install_on_first_import as _install_lazy_aiogram

_install_lazy_aiogram()
