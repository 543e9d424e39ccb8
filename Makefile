# Developer shortcuts. The product compiles catalogs itself at start-up; these are for editing.
PY ?= .venv/bin/python
BABEL = $(PY) -m babel.messages.frontend
KEYWORDS = -k _:1,1t -k _:1,2 -k __:1,1t -k __:1,2

.PHONY: texts-extract texts-update texts-compile test lint

texts-extract:
	$(BABEL) extract -F babel.cfg $(KEYWORDS) --no-location --sort-output \
		--project=telegram-crm --copyright-holder="Telegram CRM" -o locales/messages.pot .

texts-update: texts-extract
	$(BABEL) update -i locales/messages.pot -d locales -D messages --no-fuzzy-matching --ignore-obsolete

texts-compile:
	$(BABEL) compile -d locales -D messages --statistics

test:
	$(PY) -m pytest

lint:
	$(PY) -m ruff check .
