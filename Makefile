# Two commands do all set-up on a fresh machine with Python 3.11:
#   make run    — install, fetch and verify the model, build the index, serve the web app on 127.0.0.1:7860
#   make test   — install (with test tools and Chromium), fetch the model, build the index, run every test
# Big downloads (model slices, embeddings) are cached in ~/.cache/duty-assistant, pip's in ~/.cache/pip.

PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
DA     := $(VENV)/bin/duty-assistant
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)

.PHONY: run test install model tuned index eval report bench browser clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed ($(PYTHON) not found); set PYTHON=/path/to/python3.11"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

# e5-small answers questions in Uyghur and Kazakh (its own index; DUTY_ASSISTANT_ROUTE_MODEL=off: no route)
model: install
	$(DA) model fetch embeddinggemma-300m e5-small

# the default model fine-tuned on the similar questions (~15 min on 2 cores); only `make eval` uses it, to
# measure the fine-tuning lever
tuned: model
	$(DA) model fetch embeddinggemma-300m-tuned

index: model
	$(DA) index build

run: index
	$(DA) serve

# Debian's Chromium for the browser tests (Playwright drives it; nothing is downloaded by Playwright itself).
browser:
	@{ command -v chromium >/dev/null 2>&1 && fc-list :lang=zh | grep -q . ; } || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; fi; }

test: index browser
	$(DA) model fetch e5-small
	$(DA) parse --check
	$(PY) -m pytest -q

# dev sets are for tuning (dev*.jsonl and messages-dev*.jsonl: `duty-assistant calibrate` fits on them);
# test and holdout sets only report; citizen.jsonl … citizen24.jsonl are the held-out citizen-side
# blocks (issue 13); minority-*: Uyghur, Kazakh and Russian questions (issue 17; `calibrate --route` fits on minority-dev and minority-dev2)
EVAL_SETS := dev.jsonl dev_citizen.jsonl dev_twins.jsonl dev_counter.jsonl dev_walkin.jsonl dev_citizen3.jsonl dev_citizen4.jsonl dev_citizen5.jsonl dev_citizen6.jsonl dev_citizen7.jsonl dev_citizen8.jsonl dev_citizen9.jsonl dev_citizen10.jsonl dev_citizen11.jsonl dev_citizen12.jsonl dev_citizen13.jsonl dev_citizen14.jsonl dev_citizen15.jsonl dev_citizen16.jsonl dev_citizen17.jsonl dev_citizen18.jsonl dev_citizen19.jsonl dev_citizen20.jsonl dev_citizen21.jsonl dev_citizen22.jsonl dev_citizen23.jsonl dev_citizen24.jsonl dev_citizen25.jsonl dev_citizen26.jsonl dev_citizen27.jsonl dev_citizen28.jsonl \
             messages-dev.jsonl messages-dev2.jsonl messages-dev3.jsonl messages-dev4.jsonl messages-dev5.jsonl test.jsonl messages-test.jsonl holdout.jsonl messages-holdout.jsonl citizen.jsonl citizen2.jsonl \
             citizen3.jsonl citizen4.jsonl citizen5.jsonl citizen6.jsonl citizen7.jsonl citizen8.jsonl citizen9.jsonl citizen10.jsonl citizen11.jsonl citizen12.jsonl citizen13.jsonl citizen14.jsonl citizen15.jsonl citizen16.jsonl citizen17.jsonl citizen18.jsonl citizen19.jsonl citizen20.jsonl citizen21.jsonl citizen22.jsonl citizen23.jsonl citizen24.jsonl minority-dev.jsonl minority-dev2.jsonl minority-test.jsonl

eval: index
	$(DA) eval $(addprefix eval/questions/,$(EVAL_SETS)) --compare --compare-on dev.jsonl,test.jsonl,holdout.jsonl --ablation dev.jsonl,test.jsonl,holdout.jsonl --report eval/report.md --json eval/report.json --chart eval/top1-by-style.png --quiet

bench: index
	$(DA) bench --json eval/bench.json

clean:
	rm -rf $(VENV) index/*/ .pytest_cache
