"""Validation of the trace data a supervision system collects (追溯数据校验, DOMAIN.md §6):
the rules, each once (:mod:`vaxtrace.core.validation.rules`), and what a rule finds
(:mod:`vaxtrace.core.validation.findings`). The SQL that applies them lives in
``vaxtrace.store.supervision``."""
