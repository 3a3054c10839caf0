# XãSố — the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/xaso

.PHONY: install demo serve test test-sqlite test-postgres lint browser fonts bench clean

install: $(STAMP)

# Reinstall whenever pyproject.toml changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: install fonts
	$(BIN)/xaso migrate --no-input
	$(BIN)/xaso demo

# Debian's Chromium drives the browser tests; Playwright never downloads its own.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

# Debian's DejaVu fonts carry the Vietnamese glyphs of stamp labels and PDFs (XASO_PDF_FONT).
fonts:
	@test -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf || { \
	  echo "Installing Debian's fonts-dejavu-core for PDF labels"; \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq fonts-dejavu-core >/dev/null; }

test: install browser fonts
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

lint: install
	$(BIN)/ruff check xaso tests bench
	$(BIN)/ruff format --check xaso tests bench
	$(BIN)/lint-imports

test-sqlite: install
	env -u DATABASE_URL $(BIN)/pytest

test-postgres: install
	DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest

# Debian's wrk drives the scan page benchmark.
.PHONY: wrk
wrk:
	@command -v wrk >/dev/null 2>&1 || { \
	  echo "Installing Debian's wrk for the scan page benchmark"; \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq wrk >/dev/null; }

bench: install wrk fonts
	env -u DATABASE_URL $(BIN)/python bench/household_search.py
	DATABASE_URL=$(PG_TEST_URL) $(BIN)/python bench/household_search.py
	DATABASE_URL=$(PG_TEST_URL) $(BIN)/python bench/scan_throughput.py
	DATABASE_URL=$(PG_TEST_URL) $(BIN)/python bench/stamp_run.py
	DATABASE_URL=$(PG_TEST_URL) $(BIN)/python bench/mqtt_ingest.py
	env -u DATABASE_URL $(BIN)/python bench/dossier_queue.py
	DATABASE_URL=$(PG_TEST_URL) $(BIN)/python bench/dossier_queue.py
	DATABASE_URL=$(PG_TEST_URL) $(BIN)/python bench/receipts.py
	$(BIN)/python bench/label_pdf.py
	$(BIN)/python bench/camera_watch.py
	env -u DATABASE_URL $(BIN)/python bench/survey_sync.py
	DATABASE_URL=$(PG_TEST_URL) $(BIN)/python bench/survey_sync.py
	DATABASE_URL=$(PG_TEST_URL) $(BIN)/python bench/indicators_scale.py

clean:
	rm -rf $(VENV) var .pytest_cache
