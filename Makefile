# Two entry points: `make demo` sets everything up and starts the web app on the embedded
# default (SQLite) with demo data; `make test` sets everything up and runs the test suite.
.PHONY: demo tour test check lint setup audit bench bench-core bench-http bench-scale bench-history

UV := .tools/bin/uv
SYNCED := .venv/.synced

$(UV):
	python3 -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv

$(SYNCED): pyproject.toml uv.lock | $(UV)
	$(UV) sync --quiet --frozen --extra dev
	touch $@

setup: $(SYNCED)

demo: $(SYNCED)
	.venv/bin/groundup serve --demo

tour: $(SYNCED)
	.venv/bin/groundup tour

test: $(SYNCED)
	@scripts/install-chromium
	.venv/bin/pytest -q

lint: $(SYNCED)
	.venv/bin/ruff check src tests benchmarks scripts
	.venv/bin/ruff format --check src tests benchmarks scripts
	.venv/bin/mypy

check: lint test

# Benchmarks print figures (docs/performance.md says what they mean); none is a timed test.
bench-core: $(SYNCED)
	.venv/bin/python benchmarks/clinical_core.py --patients 200 --weeks 12 --seed 1

bench-http: $(SYNCED)
	.venv/bin/python benchmarks/serving.py

bench-scale: $(SYNCED)
	.venv/bin/python benchmarks/scale.py --explain

bench-history: $(SYNCED)
	.venv/bin/python benchmarks/history.py --sessions 10 100 360 1000

bench: bench-core bench-http bench-scale
	@if [ -f benchmarks/documents.py ]; then .venv/bin/python benchmarks/documents.py; fi

# Known vulnerabilities in the locked dependencies (all extras), checked against PyPI's
# advisory data. --strict: a package that could not be checked fails the audit, so an
# unreachable service is a failure, never a silent pass.
audit: $(SYNCED)
	$(UV) export --quiet --frozen --format requirements-txt --all-extras --no-emit-project \
		-o .venv/audit-requirements.txt
	.venv/bin/pip-audit --strict --disable-pip --require-hashes --progress-spinner off \
		-r .venv/audit-requirements.txt || { echo "audit: FAILED: a known vulnerability \
	listed above, or a package that could not be checked (is PyPI's advisory data \
	reachable?)" >&2; exit 1; }
