"""Standalone documents: Swedish HTML from a template extending `document.html`, and the
same document as PDF."""

from __future__ import annotations

import datetime as dt

import jinja2
import pytest

from arshjul.views.documents import ENVIRONMENT, html_to_pdf, render_document

SAMPLE = """{% extends "document.html" %}
{% block title %}Prov{% endblock %}
{% block heading %}Uppföljning {{ when | long_date }}{% endblock %}
{% block meta %}{{ count(n, "steg", "steg") }}{% endblock %}
{% block content %}<p>{{ text }}</p>{% endblock %}
"""


@pytest.fixture
def sample_template(tmp_path, monkeypatch):
    loader = jinja2.ChoiceLoader([jinja2.DictLoader({"sample.html": SAMPLE}), ENVIRONMENT.loader])
    monkeypatch.setattr(ENVIRONMENT, "loader", loader)
    monkeypatch.setattr(ENVIRONMENT, "cache", {})
    return "sample.html"


def test_a_document_is_swedish_html_with_what_people_typed_escaped(sample_template):
    html = render_document(sample_template, when=dt.date(2027, 4, 30), n=3, text="<script>x</script> & Åre")
    assert html.startswith("<!DOCTYPE html>") and '<html lang="sv">' in html
    assert "Uppföljning 30 april 2027" in html and "3 steg" in html
    assert "&lt;script&gt;x&lt;/script&gt; &amp; Åre" in html and "<script>x" not in html


def test_a_missing_fact_fails_loudly(sample_template):
    with pytest.raises(jinja2.UndefinedError):
        render_document(sample_template, when=dt.date(2027, 4, 30), n=3)


def test_the_same_document_as_pdf(sample_template):
    pdf = html_to_pdf(render_document(sample_template, when=dt.date(2027, 4, 30), n=1, text="Hej"))
    assert pdf.startswith(b"%PDF-") and len(pdf) > 1000
